import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { TokenFetchError } from '@tokenfetch/core';
import { toProblemDetails } from '@tokenfetch/core/adapter';
import type { Response } from 'express';

/**
 * Answers tokenfetch errors as RFC 9457 `application/problem+json` (login failures 502, a
 * refused cross-origin call 500, a closed client 503, …), with no secret in them. It catches
 * nothing else (`@Catch(TokenFetchError)`, which matches the errors of any installed copy of
 * core): Nest hands each error to one filter only, so any other error, an `HttpException`
 * included, still reaches your own filters, else Nest's handling. `TokenfetchModule`
 * applies it globally unless given `{ problemDetails: false }`.
 *
 * @example
 * const { httpAdapter } = app.get(HttpAdapterHost);
 * app.useGlobalFilters(new TokenfetchExceptionFilter(httpAdapter));
 */
@Catch(TokenFetchError)
export class TokenfetchExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const problem = host.getType() === 'http' ? toProblemDetails(exception) : undefined;
    const response = host.switchToHttp().getResponse<Response>();
    if (problem === undefined || response.headersSent) {
      super.catch(exception, host);
      return;
    }
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }
}

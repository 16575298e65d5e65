import { Inject, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ApiFetch } from '@tokenfetch/core';
import type { Request } from 'express';

// Registered symbols: the ESM and CommonJS builds of this package (and two installed copies)
// name the same providers, so a class that injects with one finds the module of the other.

/** The injection token of the module's `ApiClient`: `@InjectApiClient()` is `@Inject(API_CLIENT)`. */
export const API_CLIENT: unique symbol = Symbol.for('@tokenfetch/nestjs ApiClient');

/** The injection token of the request-scoped `ApiFetch`: `@InjectApiFetch()` is `@Inject(API_FETCH)`. */
export const API_FETCH: unique symbol = Symbol.for('@tokenfetch/nestjs ApiFetch');

/**
 * Injects the module's `ApiClient`, one for the whole application (singleton). With
 * `{ pool, tenant }` there is no one client: injecting it fails start-up with `ConfigError`.
 *
 * @example
 * constructor(@InjectApiClient() private readonly api: ApiClient) {}
 */
export const InjectApiClient = (): PropertyDecorator & ParameterDecorator => Inject(API_CLIENT);

/**
 * Injects the request's `apiFetch`: aborted when the downstream client disconnects, and
 * honouring `tenant` and `as`. Request-scoped: whatever injects it, and everything that
 * injects that, is made anew for every request. `@ApiFetchParam()` costs nothing of the kind.
 *
 * @example
 * constructor(@InjectApiFetch() private readonly apiFetch: ApiFetch) {}
 */
export const InjectApiFetch = (): PropertyDecorator & ParameterDecorator => Inject(API_FETCH);

/**
 * The request's `apiFetch` as a handler parameter (`req.apiFetch`, set by the module's
 * middleware): the cheap path, leaving controllers and services singletons.
 *
 * @example
 * \@Get('me') me(@ApiFetchParam() apiFetch: ApiFetch) { return apiFetch('/user/users/me'); }
 */
export const ApiFetchParam = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ApiFetch =>
    context.switchToHttp().getRequest<Request>().apiFetch,
);

import { once } from 'node:events';
import type { Server } from 'node:http';
import { Body, Controller, Get, Inject, Post, Query, Res } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { ApiFetchParam, InjectApiFetch, TokenfetchModule, type ApiFetch } from '@tokenfetch/nestjs';
import type { Response } from 'express';
import type { AdapterHarness, ContractHooks } from './contract.js';

const HOOKS = Symbol('contract hooks');

/** The contract's routes, given the request's `apiFetch` by each route. */
async function serve(
  route: 'me' | 'objects' | 'external' | 'late',
  apiFetch: ApiFetch,
  res: Response,
  input: { url?: string; body?: unknown; hooks?: ContractHooks },
): Promise<void> {
  if (route === 'late') {
    // Something else is awaited first; by the time apiFetch is called, the client has gone.
    await once(res, 'close');
    input.hooks?.lateCall?.(apiFetch(String(input.url)));
    return;
  }
  const upstream =
    route === 'me'
      ? await apiFetch('/user/users/me')
      : route === 'objects'
        ? await apiFetch('/data/object', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(input.body),
          })
        : await apiFetch(String(input.url));
  if (route === 'external') res.sendStatus(upstream.status);
  else res.status(upstream.status).json(await upstream.json());
}

/** The cheap path: `@ApiFetchParam()`, the controller stays a singleton. */
@Controller()
class ParamController {
  constructor(@Inject(HOOKS) private readonly hooks: ContractHooks) {}

  @Get('local')
  local() {
    return { ok: true };
  }

  @Get('me')
  me(@ApiFetchParam() apiFetch: ApiFetch, @Res() res: Response) {
    return serve('me', apiFetch, res, {});
  }

  @Post('objects')
  objects(@ApiFetchParam() apiFetch: ApiFetch, @Body() body: unknown, @Res() res: Response) {
    return serve('objects', apiFetch, res, { body });
  }

  @Get('external')
  external(@ApiFetchParam() apiFetch: ApiFetch, @Query('url') url: string, @Res() res: Response) {
    return serve('external', apiFetch, res, { url });
  }

  @Get('late')
  late(@ApiFetchParam() apiFetch: ApiFetch, @Query('url') url: string, @Res() res: Response) {
    return serve('late', apiFetch, res, { url, hooks: this.hooks });
  }
}

/** The request-scoped path: `@InjectApiFetch()`, a controller made for every request. */
@Controller()
class InjectedController {
  constructor(
    @Inject(HOOKS) private readonly hooks: ContractHooks,
    @InjectApiFetch() private readonly apiFetch: ApiFetch,
  ) {}

  @Get('local')
  local() {
    return { ok: true };
  }

  @Get('me')
  me(@Res() res: Response) {
    return serve('me', this.apiFetch, res, {});
  }

  @Post('objects')
  objects(@Body() body: unknown, @Res() res: Response) {
    return serve('objects', this.apiFetch, res, { body });
  }

  @Get('external')
  external(@Query('url') url: string, @Res() res: Response) {
    return serve('external', this.apiFetch, res, { url });
  }

  @Get('late')
  late(@Query('url') url: string, @Res() res: Response) {
    return serve('late', this.apiFetch, res, { url, hooks: this.hooks });
  }
}

/**
 * The contract app on NestJS's Express platform, built with the testing module: handlers
 * take the request's `apiFetch` as a parameter (`'param'`) or have it injected into a
 * request-scoped controller (`'injected'`). Initialised, not listening.
 */
export function nestHarness(via: 'param' | 'injected' = 'param'): AdapterHarness {
  return async (options, hooks) => {
    const moduleRef = await Test.createTestingModule({
      imports: [TokenfetchModule.forRoot(options)],
      controllers: [via === 'param' ? ParamController : InjectedController],
      providers: [{ provide: HOOKS, useValue: hooks ?? {} }],
    }).compile();
    // With a log to collect, Nest's logger hands over its error lines only.
    const log = hooks?.log;
    const logger =
      log === undefined
        ? false
        : { log() {}, warn() {}, error: (message: unknown) => log(String(message)) };
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger });
    await app.init();
    return app.getHttpServer() as Server;
  };
}

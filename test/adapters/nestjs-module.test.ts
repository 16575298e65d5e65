import type { Server } from 'node:http';
import {
  Catch,
  Controller,
  Get,
  HttpException,
  Inject,
  Injectable,
  Module,
  type ArgumentsHost,
  type ConsoleLoggerOptions,
  type ExceptionFilter,
  type LoggerService,
  Scope,
} from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import {
  ClientClosedError,
  ConfigError,
  createApiClient,
  createClientPool,
  type ApiClientOptions,
} from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import {
  API_CLIENT,
  ApiFetchParam,
  InjectApiClient,
  InjectApiFetch,
  TokenfetchModule,
  type ApiClient,
  type ApiFetch,
} from '@tokenfetch/nestjs';
import type { Response } from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

@Injectable()
class MeService {
  constructor(@InjectApiClient() readonly api: ApiClient) {}

  me(): Promise<unknown> {
    return this.api.json('/user/users/me');
  }
}

/** A module of its own that does not import TokenfetchModule: the global module serves it. */
@Module({ providers: [MeService], exports: [MeService] })
class FeatureModule {}

@Controller()
class ApiFetchController {
  @Get()
  root(@ApiFetchParam() apiFetch: ApiFetch) {
    return apiFetch('/user/users/me').then((upstream) => upstream.json());
  }
}

@Controller()
class TestController extends ApiFetchController {
  constructor(@Inject(MeService) private readonly service: MeService) {
    super();
  }

  @Get('deep/down/me')
  deep(@ApiFetchParam() apiFetch: ApiFetch) {
    return apiFetch('/user/users/me').then((upstream) => upstream.json());
  }

  @Get('service')
  viaService() {
    return this.service.me();
  }

  @Get('cross-origin')
  crossOrigin(@ApiFetchParam() apiFetch: ApiFetch) {
    return apiFetch('https://elsewhere.example/steal');
  }

  @Get('teapot')
  teapot() {
    throw new HttpException('short and stout', 418);
  }

  @Get('broken')
  broken() {
    throw new Error('not a tokenfetch error');
  }
}

/** Request-scoped: gets the request's apiFetch injected. */
@Controller('same')
class SameController {
  constructor(@InjectApiFetch() private readonly injected: ApiFetch) {}

  @Get()
  same(@ApiFetchParam() param: ApiFetch) {
    return { same: typeof param === 'function' && param === this.injected };
  }
}

/** An app's own catch-all filter, as many apps have one: every error it gets is a 599. */
@Catch()
class EveryErrorFilter implements ExceptionFilter {
  catch(_error: unknown, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().status(599).json({ mine: true });
  }
}

const CONFIG = Symbol('config');

/** Stands in for a configuration module (ConfigModule and the like). */
@Module({})
class ConfigModule {
  static with(values: Record<string, string>) {
    return {
      module: ConfigModule,
      providers: [{ provide: CONFIG, useValue: values }],
      exports: [CONFIG],
    };
  }
}

/** A Nest logger that keeps what it is given. */
class KeepingLogger implements LoggerService {
  readonly lines: string[] = [];
  private keep = (...args: unknown[]) => {
    this.lines.push(args.map((arg) => (arg instanceof Error ? arg.stack : String(arg))).join(' '));
  };
  log = this.keep;
  error = this.keep;
  warn = this.keep;
  debug = this.keep;
  verbose = this.keep;
  fatal = this.keep;
  setLogLevels(_levels: ConsoleLoggerOptions['logLevels']) {}
}

describe('@tokenfetch/nestjs', () => {
  let upstream: MockUpstream;
  const apps: NestExpressApplication[] = [];
  const options = (): ApiClientOptions => ({
    baseUrl: upstream.baseUrl,
    auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
  });

  /** An initialised app with the module as `imports` gives it, over a real server. */
  async function start(
    imports: Parameters<typeof Test.createTestingModule>[0]['imports'],
    controller: 'service' | 'no service' | 'same' = 'service',
    prefix?: string,
  ): Promise<{ app: NestExpressApplication; server: Server }> {
    const moduleRef = await Test.createTestingModule({
      imports: [...(imports ?? []), ...(controller === 'service' ? [FeatureModule] : [])],
      controllers: [
        { service: TestController, 'no service': ApiFetchController, same: SameController }[
          controller
        ],
      ],
    }).compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    apps.push(app);
    if (prefix !== undefined) app.setGlobalPrefix(prefix);
    await app.listen(0, '127.0.0.1');
    return { app, server: app.getHttpServer() as Server };
  }

  beforeEach(async () => {
    upstream = await startMockUpstream();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const app of apps.splice(0)) await app.close();
    await upstream.close();
  });

  it('forRootAsync takes its options from a factory that injects a provider of an imported module', async () => {
    const { server } = await start([
      TokenfetchModule.forRootAsync({
        imports: [ConfigModule.with({ url: upstream.baseUrl, key: 'demo-api-key' })],
        inject: [CONFIG],
        useFactory: async (config: Record<string, string>) => {
          await Promise.resolve(); // an asynchronous factory is awaited
          return { baseUrl: String(config.url), auth: { apiKey: String(config.key) } };
        },
      }),
    ]);
    await request(server)
      .get('/deep/down/me')
      .expect(200, /api-key@/);
    expect(upstream.requests.map((entry) => entry.path)).toEqual(['/api/user/users/me']);
  });

  it('forRootAsync with invalid options fails start-up with ConfigError, not the first request', async () => {
    const built = start([
      TokenfetchModule.forRootAsync({
        useFactory: () => ({ baseUrl: 'not a url', auth: { apiKey: 'secret-canary' } }),
      }),
    ]);
    await expect(built).rejects.toThrow(ConfigError);
    await expect(built).rejects.toThrow(/baseUrl/);
    await expect(built).rejects.not.toThrow(/secret-canary/);
  });

  it('an as that is not a function fails start-up with ConfigError', async () => {
    const as = 'org 42' as unknown as () => undefined;
    const built = start([TokenfetchModule.forRoot({ ...options(), as })]);
    await expect(built).rejects.toThrow(ConfigError);
    await expect(built).rejects.toThrow(/as: must be a function/);
  });

  it('a config error from NestFactory.create prints nothing secret through Nest’s logger', async () => {
    vi.stubEnv('API_BASE_URL', '');
    vi.stubEnv('API_EMAIL', DEMO_USER.email);
    vi.stubEnv('API_PASSWORD', 'secret-canary');
    vi.stubEnv('API_ORG_ID', '1');
    vi.stubEnv('API_KEY', '');
    @Module({ imports: [TokenfetchModule.forRoot()] })
    class AppModule {}
    const logger = new KeepingLogger();
    const created = NestFactory.create(AppModule, { logger, abortOnError: false });
    await expect(created).rejects.toThrow(ConfigError);
    await expect(created).rejects.toThrow(/API_BASE_URL: required/);
    expect(logger.lines.join('\n')).toMatch(/API_BASE_URL/); // Nest did print the error
    expect(logger.lines.join('\n')).not.toContain('secret-canary');
  });

  it('logs a failed login once per cooldown window through Nest’s Logger (context Tokenfetch), no secret', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TokenfetchModule.forRoot({
          ...options(),
          auth: { email: DEMO_USER.email, password: 'wrong-canary', orgId: 1 },
        }),
      ],
      controllers: [ApiFetchController],
    }).compile();
    const logger = new KeepingLogger();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger });
    apps.push(app);
    await app.init();
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/').expect(502);
    const logged = logger.lines.filter((line) => line.includes('tokenfetch:'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^tokenfetch: E_INVALID_CREDENTIALS: .* Tokenfetch$/); // message, context
    expect(logger.lines.join('\n')).not.toContain('wrong-canary');
  });

  it('@InjectApiClient() gives the module’s client to a service of a module that does not import it', async () => {
    const client = createApiClient(options());
    const { app, server } = await start([TokenfetchModule.forRoot({ client })]);
    await request(server).get('/service').expect(200, /demo/);
    expect(app.get(MeService).api).toBe(client);
    // Transient (made for each class that injects it): resolve(), not get().
    expect(await app.resolve(API_CLIENT)).toBe(client);
    await client.close();
  });

  it('with global: false, a module that does not import it cannot inject the client', async () => {
    const built = start([TokenfetchModule.forRoot(options(), { global: false })]);
    await expect(built).rejects.toThrow(/MeService/);
  });

  it('sets req.apiFetch on every route, the root and nested ones, also under a global prefix', async () => {
    for (const prefix of [undefined, 'v1']) {
      const { server } = await start([TokenfetchModule.forRoot(options())], 'service', prefix);
      const at = prefix === undefined ? '' : `/${prefix}`;
      await request(server).get(`${at}/`).expect(200, /demo/);
      await request(server).get(`${at}/deep/down/me`).expect(200, /demo/);
    }
  });

  it('@InjectApiFetch() and @ApiFetchParam() give one request the same apiFetch', async () => {
    const { server } = await start([TokenfetchModule.forRoot(options())], 'same');
    await request(server).get('/same').expect(200, { same: true });
  });

  it('closes the client it made on application shutdown', async () => {
    const { app, server } = await start([TokenfetchModule.forRoot(options())]);
    await request(server).get('/').expect(200, /demo/);
    const client = app.get(MeService).api;
    await app.close();
    await expect(client.fetch('/user/users/me')).rejects.toThrow(ClientClosedError);
  });

  it('leaves a client it was given open on application shutdown', async () => {
    const client = createApiClient(options());
    const { app } = await start([TokenfetchModule.forRoot({ client })]);
    await app.close();
    expect((await client.fetch('/user/users/me')).status).toBe(200);
    await client.close();
  });

  it('leaves a pool it was given open on application shutdown', async () => {
    const pool = createClientPool({ resolve: () => options() });
    const { app, server } = await start(
      [TokenfetchModule.forRoot({ pool, tenant: () => 'one' })],
      'no service',
    );
    await request(server).get('/').expect(200, /demo/);
    await app.close();
    expect((await pool.client('one').fetch('/user/users/me')).status).toBe(200);
    await pool.close();
  });

  it('with { pool, tenant }, injecting ApiClient fails start-up with ConfigError', async () => {
    const pool = createClientPool({ resolve: () => options() });
    const built = Test.createTestingModule({
      imports: [TokenfetchModule.forRoot({ pool, tenant: () => 'one' })],
      providers: [MeService],
    }).compile();
    await expect(built).rejects.toThrow(ConfigError);
    await expect(built).rejects.toThrow(/pool/);
    await pool.close();
  });

  it('with { pool, tenant }, a request-scoped class that injects ApiClient fails start-up too', async () => {
    /** Request-scoped, as it injects ApiFetch: Nest builds it, and its ApiClient, per request. */
    @Injectable()
    class PerRequest {
      constructor(
        @InjectApiClient() readonly api: ApiClient,
        @InjectApiFetch() readonly apiFetch: ApiFetch,
      ) {}
    }
    @Controller('per-request')
    class PerRequestController {
      constructor(@Inject(PerRequest) readonly service: PerRequest) {}
      @Get()
      get() {
        return { ok: true };
      }
    }
    const pool = createClientPool({ resolve: () => options() });
    const providers = [
      PerRequest,
      {
        provide: 'by factory',
        scope: Scope.REQUEST,
        useFactory: (api: ApiClient) => api,
        inject: [API_CLIENT],
      },
    ];
    try {
      for (const provider of providers) {
        const moduleRef = await Test.createTestingModule({
          imports: [TokenfetchModule.forRoot({ pool, tenant: () => 'one' })],
          controllers: provider === PerRequest ? [PerRequestController] : [],
          providers: [provider],
        }).compile();
        const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
        apps.push(app);
        const started = app.listen(0, '127.0.0.1');
        await expect(started).rejects.toThrow(ConfigError);
        await expect(started).rejects.toThrow(/pool: has no one ApiClient/);
      }
    } finally {
      await pool.close();
    }
  });

  it('with global: false, a pool in one module does not fail a class that injects another module’s client', async () => {
    const client = createApiClient(options());
    const pool = createClientPool({ resolve: () => options() });
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      constructor(@InjectApiClient() readonly api: ApiClient) {}
    }
    @Module({
      imports: [TokenfetchModule.forRoot({ client }, { global: false })],
      providers: [PerRequest],
    })
    class WithClient {}
    @Module({
      imports: [TokenfetchModule.forRoot({ pool, tenant: () => 'one' }, { global: false })],
    })
    class WithPool {}
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [WithClient, WithPool],
      }).compile();
      const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
      apps.push(app);
      await app.init();
      expect((await app.resolve(PerRequest)).api).toBe(client);
    } finally {
      await client.close();
      await pool.close();
    }
  });

  it('leaves other errors to Nest: an HttpException keeps its status and body', async () => {
    const { server } = await start([TokenfetchModule.forRoot(options())]);
    const teapot = await request(server).get('/teapot').expect(418);
    expect(teapot.headers['content-type']).toMatch(/^application\/json/);
    expect(teapot.body).toEqual({ statusCode: 418, message: 'short and stout' });
    const broken = await request(server).get('/broken').expect(500);
    expect(broken.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    const refused = await request(server).get('/cross-origin').expect(500);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('leaves every other error to your own global filter (APP_FILTER)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TokenfetchModule.forRoot(options()), FeatureModule],
      controllers: [TestController],
      providers: [{ provide: APP_FILTER, useClass: EveryErrorFilter }],
    }).compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    expect((await request(server).get('/teapot').expect(599)).body).toEqual({ mine: true });
    expect((await request(server).get('/broken').expect(599)).body).toEqual({ mine: true });
    const refused = await request(server).get('/cross-origin').expect(500);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers tokenfetch errors ahead of a catch-all filter of the app’s however it is registered', async () => {
    /** An APP_FILTER of a module imported after TokenfetchModule. */
    @Module({ providers: [{ provide: APP_FILTER, useClass: EveryErrorFilter }] })
    class ErrorsModule {}
    for (const registered of ['useGlobalFilters', 'APP_FILTER after'] as const) {
      const moduleRef = await Test.createTestingModule({
        imports: [
          TokenfetchModule.forRoot(options()),
          FeatureModule,
          ...(registered === 'APP_FILTER after' ? [ErrorsModule] : []),
        ],
        controllers: [TestController],
      }).compile();
      const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
      apps.push(app);
      // As Nest's documentation registers its AllExceptionsFilter: after the app is made.
      if (registered === 'useGlobalFilters') app.useGlobalFilters(new EveryErrorFilter());
      await app.listen(0, '127.0.0.1');
      const server = app.getHttpServer() as Server;
      const refused = await request(server).get('/cross-origin');
      expect(refused.status, registered).toBe(500);
      expect(refused.headers['content-type'], registered).toMatch(/^application\/problem\+json/);
      expect((await request(server).get('/teapot').expect(599)).body).toEqual({ mine: true });
      expect((await request(server).get('/broken').expect(599)).body).toEqual({ mine: true });
    }
  });

  it('with problemDetails: false, tokenfetch errors go to Nest’s own handling', async () => {
    const { server } = await start([
      TokenfetchModule.forRoot(options(), { problemDetails: false }),
    ]);
    const refused = await request(server).get('/cross-origin').expect(500);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });
});

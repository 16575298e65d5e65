import {
  Inject,
  Logger,
  Module,
  Optional,
  RequestMethod,
  Scope,
  type DynamicModule,
  type FactoryProvider,
  type MiddlewareConsumer,
  type ModuleMetadata,
  type NestModule,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { PROPERTY_DEPS_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import { APP_FILTER, ApplicationConfig, ModulesContainer, REQUEST } from '@nestjs/core';
import { ConfigError } from '@tokenfetch/core';
import {
  createRequestBinding,
  type ApiFetch,
  type AuthMiddlewareOptions,
  type RequestBinding,
} from '@tokenfetch/core/adapter';
import type { NextFunction, Request, Response } from 'express';
import { TokenfetchExceptionFilter } from './exception-filter.js';
import { API_CLIENT, API_FETCH } from './tokens.js';

/** How the module is wired into the application, besides the client's options. */
export interface TokenfetchModuleOptions {
  /** Whether `ApiClient` and `ApiFetch` can be injected in every module without importing this one. @default true */
  global?: boolean;
  /** Whether to apply `TokenfetchExceptionFilter` to the whole application. @default true */
  problemDetails?: boolean;
}

/** `forRootAsync()`: the client's options from a factory, which may inject providers. */
export interface TokenfetchModuleAsyncOptions extends TokenfetchModuleOptions {
  imports?: ModuleMetadata['imports'];
  inject?: FactoryProvider['inject'];
  /** The options `forRoot()` takes; `undefined` reads the environment. */
  useFactory: (
    ...args: never[]
  ) =>
    | AuthMiddlewareOptions<Request>
    | undefined
    | Promise<AuthMiddlewareOptions<Request> | undefined>;
}

/** A failed login goes to Nest's `Logger` (the app's logger, as set with `useLogger`). */
const nestLogger = new Logger('Tokenfetch');
function logToNest(line: string): void {
  nestLogger.error(line);
}

const OPTIONS = Symbol('tokenfetch:options');
const BINDING = Symbol('tokenfetch:binding');
const FILTER = Symbol('tokenfetch:filter');

function noOneClient(): ConfigError {
  return new ConfigError(
    [{ path: 'pool', message: 'has no one ApiClient to inject: use ApiFetch' }],
    'invalid TokenfetchModule options',
  );
}

/** Whether a provider or controller injects `API_CLIENT` (`@InjectApiClient()`, `inject`). */
function injectsClient(metatype: unknown, inject: readonly unknown[] | undefined | null): boolean {
  if (inject != null) {
    return inject.some(
      (dep) => dep === API_CLIENT || (dep as { token?: unknown })?.token === API_CLIENT,
    );
  }
  if (typeof metatype !== 'function') return false;
  const params = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, metatype) ?? []) as {
    param: unknown;
  }[];
  const properties = (Reflect.getMetadata(PROPERTY_DEPS_METADATA, metatype) ?? []) as {
    type: unknown;
  }[];
  return [...params.map(({ param }) => param), ...properties.map(({ type }) => type)].includes(
    API_CLIENT,
  );
}

/** What the options settle, once, at module init: the binder, the client, who closes it. */
type Binding = RequestBinding<Request>;

/** The request's `apiFetch`: the middleware's, or bound now where the middleware did not run. */
function apiFetchOf(req: Request, binding: Binding): ApiFetch {
  return (req.apiFetch ??= binding.bind(req, req.res as Response));
}

/**
 * Provides `ApiClient` (`@InjectApiClient()`) and the request's `ApiFetch`
 * (`@ApiFetchParam()`, `req.apiFetch`, or request-scoped `@InjectApiFetch()`), and answers
 * tokenfetch errors as problem+json. The options are those of `@tokenfetch/express`'s
 * `authMiddleware()`, checked at module init: a bad one fails application start-up.
 */
@Module({})
export class TokenfetchModule implements NestModule, OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(BINDING) private readonly binding: Binding,
    @Inject(ApplicationConfig) private readonly config: ApplicationConfig,
    @Inject(ModulesContainer) private readonly modules: ModulesContainer,
    @Optional() @Inject(FILTER) private readonly filter?: TokenfetchExceptionFilter,
  ) {}

  /**
   * No argument: options from the environment (`API_BASE_URL`, `API_EMAIL`, …).
   * `{ client }` or `{ pool, tenant }` belong to the caller, who closes them; a client the
   * module makes is closed on application shutdown.
   *
   * @example
   * \@Module({ imports: [TokenfetchModule.forRoot()], controllers: [MeController] })
   */
  static forRoot(
    options?: AuthMiddlewareOptions<Request>,
    module: TokenfetchModuleOptions = {},
  ): DynamicModule {
    return TokenfetchModule.forRootAsync({ ...module, useFactory: () => options });
  }

  /**
   * @example
   * TokenfetchModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ baseUrl: config.get('API'), auth: { apiKey: config.get('KEY') } }),
   * })
   */
  static forRootAsync(options: TokenfetchModuleAsyncOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
      {
        provide: BINDING,
        useFactory: (settings: AuthMiddlewareOptions<Request> | undefined) =>
          createRequestBinding(settings, logToNest),
        inject: [OPTIONS],
      },
      {
        provide: API_CLIENT,
        // Transient: made only for a class that injects it, so a pool fails only there.
        scope: Scope.TRANSIENT,
        useFactory: ({ client }: Binding) => {
          if (client !== undefined) return client;
          throw noOneClient();
        },
        inject: [BINDING],
      },
      {
        provide: API_FETCH,
        scope: Scope.REQUEST,
        useFactory: apiFetchOf,
        inject: [REQUEST, BINDING],
      },
    ];
    if (options.problemDetails !== false) {
      providers.push(
        { provide: FILTER, useClass: TokenfetchExceptionFilter },
        { provide: APP_FILTER, useExisting: FILTER },
      );
    }
    return {
      module: TokenfetchModule,
      global: options.global !== false,
      imports: options.imports ?? [],
      providers,
      exports: [API_CLIENT, API_FETCH],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const { bind } = this.binding;
    consumer
      .apply((req: Request, res: Response, next: NextFunction) => {
        // An own property: Express swaps request prototypes between apps.
        req.apiFetch = bind(req, res);
        next();
      })
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
    // Nest gives an error to the first global filter that catches it, the last registered
    // first: a catch-all of the app's (app.useGlobalFilters(), or an APP_FILTER of a module
    // imported after this one) would take tokenfetch errors too. The filter is registered
    // again, last, now: after the app's own, before the routes are bound to their filters.
    const filters = this.config.getGlobalFilters();
    if (this.filter !== undefined && filters.at(-1) !== this.filter) {
      this.config.useGlobalFilters(this.filter);
    }
  }

  /**
   * With a pool, a class that injects ApiClient fails start-up: Nest builds a singleton's
   * ApiClient then, but a request-scoped class's (one that also injects ApiFetch) only at
   * its first request, so those are looked for here, in the modules that import this one
   * (every module, when it is global).
   */
  onModuleInit(): void {
    if (this.binding.client !== undefined) return;
    const modules = [...this.modules.values()];
    const own = modules.find((module) => module.instance === this);
    if (own === undefined) return;
    for (const { imports, providers, controllers } of modules) {
      if (!imports.has(own)) continue;
      for (const { metatype, inject } of [...providers.values(), ...controllers.values()]) {
        if (injectsClient(metatype, inject)) throw noOneClient();
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.binding.owned) await this.binding.client?.close();
  }
}

// Checked against the built .d.ts of @tokenfetch/nestjs (no path mapping here).
import type { DynamicModule } from '@nestjs/common';
import { createClientPool, type ApiClient, type ApiFetch } from '@tokenfetch/core';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
import {
  ApiFetchParam,
  InjectApiClient,
  InjectApiFetch,
  TokenfetchModule,
} from '@tokenfetch/nestjs';
import type { Request } from 'express';
import { describe, expectTypeOf, it } from 'vitest';

describe('@tokenfetch/nestjs types', () => {
  it('forRoot takes what authMiddleware() takes, given the Express request', () => {
    expectTypeOf(TokenfetchModule.forRoot)
      .parameter(0)
      .toEqualTypeOf<AuthMiddlewareOptions<Request> | undefined>();
    expectTypeOf(TokenfetchModule.forRoot()).toEqualTypeOf<DynamicModule>();
    const pool = createClientPool({
      resolve: () => ({ baseUrl: 'https://x.test', auth: { apiKey: 'k' } }),
    });
    TokenfetchModule.forRoot({ pool, tenant: (req) => req.hostname }, { global: false });
    TokenfetchModule.forRoot({
      baseUrl: 'https://x.test',
      auth: { apiKey: 'k' },
      as: (req) => ({ impersonateUserId: req.get('x-user') ?? '' }),
    });
    // @ts-expect-error -- a pool needs a tenant
    TokenfetchModule.forRoot({ pool });
    // @ts-expect-error -- baseUrl must be a string
    TokenfetchModule.forRoot({ baseUrl: 1, auth: { apiKey: 'k' } });
  });

  it('forRootAsync takes a factory of injected values, sync or async', () => {
    class Config {
      url = 'https://x.test';
    }
    TokenfetchModule.forRootAsync({
      inject: [Config],
      useFactory: (config: Config) => ({ baseUrl: config.url, auth: { apiKey: 'k' } }),
    });
    TokenfetchModule.forRootAsync({ useFactory: async () => undefined, problemDetails: false });
    // @ts-expect-error -- the factory must give options
    TokenfetchModule.forRootAsync({ useFactory: () => ({ baseUrl: 'https://x.test' }) });
  });

  it('types req.apiFetch and the decorators', () => {
    expectTypeOf<Request['apiFetch']>().toEqualTypeOf<ApiFetch>();
    expectTypeOf(ApiFetchParam()).toEqualTypeOf<ParameterDecorator>();
    expectTypeOf(InjectApiClient()).toExtend<ParameterDecorator>();
    expectTypeOf(InjectApiFetch()).toExtend<PropertyDecorator>();
    expectTypeOf<{ client: ApiClient }>().toExtend<AuthMiddlewareOptions<Request>>();
  });
});

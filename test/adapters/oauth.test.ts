// Every adapter with an OAuth 2.0 client (issue 24): the framework's handlers call the API
// with a token from a real authorization server (oidc-provider), one token request for a
// burst of requests, Bearer and DPoP, the per-request as({ scope }).
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { clientCredentials } from '@tokenfetch/oauth2';
import { startAuthorizationServer, type AuthorizationServer } from '@tokenfetch/test-oauth';
import express from 'express-v5';
import Fastify from 'fastify-v5';
import { Hono } from 'hono';
import Koa from 'koa-v3';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdapterHarness } from './contract.js';
import { expressHarness } from './express-harness.js';
import { fastifyHarness } from './fastify-harness.js';
import { honoHarness } from './hono-harness.js';
import { koaHarness } from './koa-harness.js';
import { nestHarness } from './nestjs-harness.js';

const harnesses: Array<[string, AdapterHarness]> = [
  ['Express 5', expressHarness(express)],
  ['Koa 3', koaHarness(Koa)],
  ['Fastify 5', fastifyHarness(Fastify)],
  ['Hono 4', honoHarness(Hono)],
  ['NestJS 11', nestHarness()],
];

describe.each(harnesses)('%s with an OAuth client', (_name, makeApp) => {
  let as: AuthorizationServer;
  let api: MockUpstream;
  const servers: Server[] = [];
  beforeEach(async () => {
    as = await startAuthorizationServer();
    api = await startMockUpstream({
      oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource },
    });
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }
    await Promise.all([api.close(), as.close()]);
  });
  const listen = async (app: Server | Promise<Server>): Promise<Server> => {
    const server = await app;
    servers.push(server);
    if (!server.listening) await once(server.listen(0, '127.0.0.1'), 'listening');
    return server;
  };
  const options = (extra: Partial<Parameters<typeof clientCredentials>[0]> = {}) => {
    const { clientId, clientSecret } = as.clients.secretBasic;
    return {
      baseUrl: api.baseUrl,
      auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, ...extra }),
    } as AuthMiddlewareOptions;
  };

  it('50 concurrent requests: one token request, every call accepted', async () => {
    const app = await listen(makeApp(options()));
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => request(app).post('/objects').send({ i })),
    );
    expect(answers.map((answer) => answer.status).filter((status) => status !== 200)).toEqual([]);
    expect(as.tokenRequests.filter((entry) => entry.issued)).toHaveLength(1);
    expect(api.stats.oauthCalls).toBe(50);
  });

  it('with DPoP and a per-request scope (as)', async () => {
    const app = await listen(
      makeApp({
        ...options({ dpop: true }),
        as: () => ({ scope: 'read' }),
      } as AuthMiddlewareOptions),
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(app).post('/objects').send({ i })),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(api.stats.dpopCalls).toBe(10);
    expect(as.tokenRequests.map((entry) => [entry.scope, entry.dpop, entry.issued])).toEqual([
      ['read', true, true],
    ]);
  });
});

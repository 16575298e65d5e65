import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import {
  connect as connectHttp2,
  constants as http2,
  type ClientHttp2Session,
  type Http2Server,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ConfigError,
  createApiClient,
  createClientPool,
  type ApiClientOptions,
  type ClientPool,
} from '@tokenfetch/core';
import type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocklessStore } from '../../packages/core/test/lockless-store.js';

/**
 * One app built with a framework and its adapter, serving the contract's routes:
 * - `GET /me` → `apiFetch('/user/users/me')`, answered with the upstream's status and JSON;
 * - `POST /objects` → `apiFetch('/data/object', POST JSON body)`, answered with the echo;
 * - `GET /external?url=` → `apiFetch(url)`, answered with the upstream's status;
 * - `GET /late?url=` → waits until the downstream response has closed (the client left
 *   while the handler awaited something else), then `apiFetch(url)`, handed to
 *   `hooks.lateCall`;
 * - `GET /local` → no upstream call;
 * with the adapter's `problemDetails()` handling errors. A framework that registers its
 * plugins asynchronously (Fastify, NestJS) may return the server as a promise; a config
 * error then rejects it.
 */
export type AdapterHarness = (
  options?: AuthMiddlewareOptions,
  hooks?: ContractHooks,
) => Server | Promise<Server>;

/** The same app over HTTP/2 (cleartext), for frameworks that serve it; a promise as above. */
export type Http2Harness = (
  options?: AuthMiddlewareOptions,
  hooks?: ContractHooks,
) => Http2Server | Promise<Http2Server>;

/** What the contract's routes report back to the test. */
export interface ContractHooks {
  /** The call `GET /late` made after its client had left. */
  lateCall?: (call: Promise<Response>) => void;
  /**
   * Where the framework's own logger writes an error line (Fastify's, Nest's), for a
   * harness whose framework has one; the others log to `console.error`.
   */
  log?: (line: string) => void;
}

/** How soon the upstream must see a call aborted after the downstream client hangs up. */
const abortSeenWithinMs = 1_000;
const timedOut: unique symbol = Symbol('timed out');

/** What `promise` resolves to, or `timedOut` when it takes longer than `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | typeof timedOut> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(ms, timedOut, { signal: timer.signal }) as Promise<typeof timedOut>,
    ]);
  } finally {
    timer.abort();
  }
}

/** A promise and the function that resolves it. */
function reported<T>(): { promise: Promise<T>; report: (value: T) => void } {
  let report!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    report = resolve;
  });
  return { promise, report };
}

/**
 * The call `GET /late` made after its client had left: made, rejected with an AbortError
 * at once (not left running), and never sent to `slow`.
 */
async function expectLateCallNeverSent(
  late: Promise<{ call: Promise<Response> }>,
  slow: { requests: () => number },
): Promise<void> {
  const made = await within(abortSeenWithinMs, late);
  expect(made, 'the handler made no call').not.toBe(timedOut);
  const outcome = await within(
    abortSeenWithinMs,
    (made as { call: Promise<Response> }).call.then(
      (response) => response,
      (error: unknown) => error,
    ),
  );
  expect(outcome, 'the late call was sent and left running').not.toBe(timedOut);
  expect(outcome).toMatchObject({ name: 'AbortError' });
  expect(slow.requests()).toBe(0);
}

/** A server that never answers, counting the requests it gets. */
async function startSilentServer(listen: (server: Server) => Promise<Server>): Promise<{
  url: string;
  origin: string;
  requests: () => number;
  arrived: Promise<IncomingMessage>;
}> {
  let requests = 0;
  const slow = createServer(() => {
    requests++;
    // Never answers: the only way this request ends is the caller aborting it.
  });
  const arrived = once(slow, 'request').then(([request]) => request as IncomingMessage);
  await listen(slow);
  const origin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  return { url: `${origin}/slow`, origin, requests: () => requests, arrived };
}

/** Runs the adapter contract against one framework major (and over HTTP/2, if it serves it). */
export function runAdapterContract(
  name: string,
  makeApp: AdapterHarness,
  more: { http2?: Http2Harness } = {},
): void {
  describe(`adapter contract: ${name}`, () => {
    let upstream: MockUpstream;
    const servers: Server[] = [];
    const closers: (() => Promise<void>)[] = [];
    /** Another upstream, closed after the test. */
    const startUpstream = async (
      ...args: Parameters<typeof startMockUpstream>
    ): Promise<MockUpstream> => {
      const started = await startMockUpstream(...args);
      closers.push(() => started.close());
      return started;
    };
    const poolOf = (pool: ClientPool): ClientPool => {
      closers.push(() => pool.close());
      return pool;
    };
    const options = (extra: Partial<ApiClientOptions> = {}): ApiClientOptions => ({
      baseUrl: upstream.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
      ...extra,
    });
    const listen = async (app: Server | Promise<Server>): Promise<Server> => {
      const server = await app;
      servers.push(server);
      if (!server.listening) await once(server.listen(0, '127.0.0.1'), 'listening');
      return server;
    };

    beforeEach(async () => {
      upstream = await startMockUpstream();
    });
    afterEach(async () => {
      vi.unstubAllEnvs();
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        server.close();
      }
      for (const close of closers.splice(0).reverse()) await close();
      await upstream.close();
    });

    it('makes one login for 200 concurrent requests, and none before the first apiFetch', async () => {
      // A store without a login lock: one login then means one client, and its single-flight.
      const app = await listen(makeApp(options({ store: new LocklessStore() })));
      await request(app).get('/local').expect(200);
      expect(upstream.stats.loginAttempts).toBe(0);
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => request(app).get('/me')),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
      expect(responses[0]?.body).toMatchObject({ email: DEMO_USER.email });
      expect(upstream.stats.successfulLogins).toBe(1);
    });

    it('recovers from a revoked token with no failed request', async () => {
      const app = await listen(makeApp(options({ store: new LocklessStore() })));
      await request(app).get('/me').expect(200);
      upstream.revokeTokens();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => request(app).get('/me')),
      );
      expect(responses.every((response) => response.status === 200)).toBe(true);
      expect(upstream.stats.successfulLogins).toBe(2);
    });

    it('replays a POST JSON body intact after a 403', async () => {
      const app = await listen(makeApp(options()));
      await request(app).get('/me').expect(200);
      upstream.revokeTokens();
      const payload = { name: 'Ünïcode ✓', nested: { list: [1, 2, 3] }, empty: '' };
      const response = await request(app).post('/objects').send(payload).expect(200);
      expect(response.body).toMatchObject({ method: 'POST', body: payload });
      const posts = upstream.requests.filter((entry) => entry.method === 'POST');
      expect(posts.map((entry) => JSON.parse(entry.body) as unknown)).toEqual([payload, payload]);
    });

    it('shares one client (and one token) between two apps given { client }', async () => {
      const client = createApiClient(options());
      const first = await listen(makeApp({ client }));
      const second = await listen(makeApp({ client }));
      await request(first).get('/me').expect(200);
      await request(second).get('/me').expect(200);
      expect(upstream.stats.successfulLogins).toBe(1);
      await client.close();
    });

    it('throws ConfigError when authMiddleware() is called with a missing environment', async () => {
      for (const name of ['BASE_URL', 'EMAIL', 'PASSWORD', 'ORG_ID', 'KEY']) {
        vi.stubEnv(`API_${name}`, '');
      }
      // Thrown while the app is built (or rejected, for a framework that builds it
      // asynchronously), never at the first request.
      const built = Promise.resolve().then(() => makeApp());
      await expect(built).rejects.toThrow(ConfigError);
      await expect(built).rejects.toThrow(/API_BASE_URL: required/);
    });

    it('throws ConfigError when { client } is not an ApiClient, at start-up, not at a request', async () => {
      for (const client of [undefined, {}, { fetch: 'not a function' }]) {
        for (const as of [undefined, () => undefined]) {
          const options = {
            client,
            ...(as === undefined ? {} : { as }),
          } as unknown as AuthMiddlewareOptions;
          const built = Promise.resolve().then(() => makeApp(options));
          await expect(built).rejects.toThrow(ConfigError);
          await expect(built).rejects.toThrow(/client: must be an ApiClient/);
        }
      }
    });

    it('reads the environment when authMiddleware() has no argument', async () => {
      vi.stubEnv('API_BASE_URL', upstream.baseUrl);
      vi.stubEnv('API_KEY', 'demo-api-key');
      const app = await listen(makeApp());
      await request(app).get('/me').expect(200);
      expect(upstream.stats.loginAttempts).toBe(0);
    });

    it('aborts the upstream call when the downstream client disconnects', async () => {
      const slow = createServer(() => {
        // Never answers: the only way this request ends is the caller aborting it.
      });
      await listen(slow);
      const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
      const arrived = once(slow, 'request') as Promise<[IncomingMessage]>;
      const app = await listen(makeApp(options({ allowedOrigins: [new URL(slowUrl).origin] })));
      const port = (app.address() as AddressInfo).port;
      const downstream = httpRequest({
        host: '127.0.0.1',
        port,
        path: `/external?url=${encodeURIComponent(slowUrl)}`,
      });
      downstream.on('error', () => {});
      downstream.end();
      const [upstreamRequest] = await arrived;
      // The upstream side sees the abort as an `aborted` error (a reset connection).
      const aborted = once(upstreamRequest, 'error').then(([error]) => error as unknown);
      downstream.destroy();
      const seen = await within(abortSeenWithinMs, aborted);
      expect(seen, `the upstream request was not aborted within ${abortSeenWithinMs} ms`).not.toBe(
        timedOut,
      );
      expect(seen).toMatchObject({ code: 'ECONNRESET', message: 'aborted' });
    });

    it('does not send a call made after the downstream client has left (the handler awaited something else first)', async () => {
      const slow = await startSilentServer(listen);
      const late = reported<{ call: Promise<Response> }>();
      const app = await listen(
        makeApp(options({ allowedOrigins: [slow.origin] }), {
          lateCall: (call) => late.report({ call }),
        }),
      );
      const downstream = httpRequest({
        host: '127.0.0.1',
        port: (app.address() as AddressInfo).port,
        path: `/late?url=${encodeURIComponent(slow.url)}`,
      });
      downstream.on('error', () => {});
      downstream.end();
      await once(app, 'request');
      downstream.destroy();

      await expectLateCallNeverSent(late.promise, slow);
      expect(upstream.stats.loginAttempts).toBe(0);
    });

    it('hands an apiFetch error to the framework error handling as problem+json', async () => {
      const app = await listen(makeApp(options()));
      const response = await request(app)
        .get(`/external?url=${encodeURIComponent('https://elsewhere.example/steal')}`)
        .expect(500);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.text)).toMatchObject({ status: 500, code: 'E_CROSS_ORIGIN' });
    });

    it('answers a refused login as a 502 problem without secrets', async () => {
      const app = await listen(
        makeApp(options({ auth: { email: DEMO_USER.email, password: 'wrong-canary', orgId: 1 } })),
      );
      const response = await request(app).get('/me').expect(502);
      expect(JSON.parse(response.text)).toMatchObject({ code: 'E_INVALID_CREDENTIALS' });
      expect(response.text).not.toContain('wrong-canary');
    });

    describe('a login that fails is seen in the log, once, and the answer names the fix', () => {
      let lines: string[];
      const hooks: ContractHooks = { log: (line) => lines.push(line) };
      beforeEach(() => {
        lines = [];
        vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
          lines.push(args.map(String).join(' '));
        });
      });
      afterEach(() => {
        vi.restoreAllMocks();
      });
      /** Three requests; each answer is a 502 problem, returned with its parsed body. */
      const threeFailures = async (app: Server) => {
        const answers = [];
        for (let i = 0; i < 3; i++) {
          const response = await request(app).get('/me').expect(502);
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          answers.push(JSON.parse(response.text) as { code: string; detail: string });
        }
        return answers;
      };
      /** A port nothing listens on: one just closed. */
      const closedPort = async (): Promise<number> => {
        const server = createServer();
        await once(server.listen(0, '127.0.0.1'), 'listening');
        const { port } = server.address() as AddressInfo;
        await new Promise((resolve) => server.close(resolve));
        return port;
      };

      it('a wrong password: one log line with its code, no password anywhere', async () => {
        const auth = { email: DEMO_USER.email, password: 'wrong-canary', orgId: 1 };
        const app = await listen(makeApp(options({ auth }), hooks));
        const answers = await threeFailures(app);
        for (const answer of answers) {
          expect(answer).toMatchObject({ code: 'E_INVALID_CREDENTIALS' });
          expect(answer.detail).toMatch(/check the email and password/);
        }
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/E_INVALID_CREDENTIALS.*check the email and password/);
        expect(JSON.stringify({ lines, answers })).not.toContain('wrong-canary');
        expect(upstream.stats.loginAttempts).toBe(1);
      });

      it('a base URL without its /api: one log line naming the URL and the fix', async () => {
        const app = await listen(makeApp(options({ baseUrl: upstream.origin }), hooks));
        const answers = await threeFailures(app);
        const fix = `POST ${upstream.origin}/user/authenticate is not there (404): is the base URL right (it usually ends in /api)?`;
        for (const answer of answers) {
          expect(answer).toMatchObject({ code: 'E_LOGIN_NOT_FOUND' });
          expect(answer.detail).toContain(fix);
        }
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`E_LOGIN_NOT_FOUND: login failed: ${fix}`);
        expect(lines.join('\n')).not.toContain(DEMO_USER.password);
      });

      it('a wrong port: one log line with ECONNREFUSED and the address; the answer names the cause class', async () => {
        const port = await closedPort();
        const baseUrl = `http://127.0.0.1:${port}/api`;
        const app = await listen(makeApp(options({ baseUrl, loginRetries: 0 }), hooks));
        const answers = await threeFailures(app);
        const hint =
          'nothing listens there: is the upstream running, and the port in the base URL right?';
        for (const answer of answers) {
          expect(answer).toMatchObject({ code: 'E_LOGIN_FAILED' });
          expect(answer.detail).toContain(`ECONNREFUSED: ${hint}`);
          // The address is for the app's log, not for its callers.
          expect(answer.detail).not.toContain(String(port));
        }
        // Three logins failed (a network error is not remembered); one line says so.
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(
          `E_LOGIN_FAILED: login failed: the login request did not complete: ECONNREFUSED 127.0.0.1:${port}: ${hint}`,
        );
        expect(lines.join('\n')).not.toContain(DEMO_USER.password);
      });

      it('https on an http port: "is this port http, not https?"', async () => {
        const baseUrl = upstream.baseUrl.replace('http:', 'https:');
        const app = await listen(makeApp(options({ baseUrl, loginRetries: 0 }), hooks));
        const [answer] = await threeFailures(app);
        expect(answer?.detail).toMatch(
          /ERR_SSL_WRONG_VERSION_NUMBER: .*is this port http, not https\?/,
        );
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          /E_LOGIN_FAILED: .*ERR_SSL_WRONG_VERSION_NUMBER: .*is this port http, not https\?/,
        );
      });

      it('logger: false logs nothing; a logger of the app gets the line instead', async () => {
        const auth = { email: DEMO_USER.email, password: 'wrong-canary', orgId: 1 };
        const silent = await listen(makeApp({ ...options({ auth }), logger: false }, hooks));
        await threeFailures(silent);
        expect(lines).toEqual([]);

        const own: string[] = [];
        const logger = { error: (line: string) => own.push(line) };
        const logged = await listen(makeApp({ ...options({ auth }), logger }, hooks));
        await threeFailures(logged);
        expect(own).toHaveLength(1);
        expect(own[0]).toMatch(/^tokenfetch: E_INVALID_CREDENTIALS: /);
        expect(lines).toEqual([]);
      });

      it('a logger without error() is a ConfigError at start-up', async () => {
        const built = Promise.resolve().then(() =>
          makeApp({ ...options(), logger: {} } as unknown as AuthMiddlewareOptions),
        );
        await expect(built).rejects.toThrow(
          /logger: must be false or a logger with an error\(\) method/,
        );
      });

      it('with { pool, tenant }: each tenant’s failure is its own line', async () => {
        const pool = poolOf(
          createClientPool({
            resolve: (tenant) => ({
              baseUrl: upstream.baseUrl,
              auth: { email: DEMO_USER.email, password: `wrong-${tenant}`, orgId: 1 },
            }),
          }),
        );
        const app = await listen(
          makeApp({ pool, tenant: (req) => String(headerOf(req, 'x-tenant')) }, hooks),
        );
        for (const tenant of ['a', 'b', 'a', 'b']) {
          await request(app).get('/me').set('x-tenant', tenant).expect(502);
        }
        expect(lines).toHaveLength(2);
        expect(lines.join('\n')).not.toMatch(/wrong-[ab]/);
      });
    });

    it('with { pool, tenant }: two tenants on two servers, one login each, no token crosses over', async () => {
      const other = await startUpstream();
      const pool = poolOf(
        createClientPool({
          store: new LocklessStore(),
          resolve: (tenant) => ({
            baseUrl: tenant === 'one' ? upstream.baseUrl : other.baseUrl,
            auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
          }),
        }),
      );
      const tenantCalls: string[] = [];
      const app = await listen(
        makeApp({
          pool,
          tenant: (req) => {
            const tenant = String(headerOf(req, 'x-tenant'));
            tenantCalls.push(tenant);
            return tenant;
          },
        }),
      );
      await request(app).get('/local').set('x-tenant', 'one').expect(200);
      expect(tenantCalls).toEqual([]);
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          request(app)
            .get('/me')
            .set('x-tenant', i % 2 === 0 ? 'one' : 'two'),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
      for (const server of [upstream, other]) {
        expect(server.stats.successfulLogins).toBe(1);
        expect(server.stats.unknownCredentialCalls).toBe(0);
        expect(server.requests).toHaveLength(100);
      }
    });

    it('a throwing tenant() is a problem+json 500 that does not show the value', async () => {
      const pool = poolOf(
        createClientPool({ resolve: () => ({ baseUrl: upstream.baseUrl, auth: { apiKey: 'k' } }) }),
      );
      const app = await listen(
        makeApp({
          pool,
          tenant: (req) => {
            throw new Error(`no tenant for ${String(headerOf(req, 'x-tenant'))}`);
          },
        }),
      );
      const response = await request(app).get('/me').set('x-tenant', 'secret-canary').expect(500);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.text)).toMatchObject({ status: 500, code: 'E_CONFIG' });
      expect(response.text).toContain('tenant');
      expect(response.text).not.toContain('secret-canary');
      expect(upstream.stats.calls).toBe(0);
    });

    it('with as: { orgId } acts in the request’s org, one login per org', async () => {
      const user = { email: 'svc@acme.com', password: 'pw-acme', orgs: [42, 43], id: 7 };
      const orgs = await startUpstream({ users: [user] });
      const app = await listen(
        makeApp({
          baseUrl: orgs.baseUrl,
          auth: { email: user.email, password: user.password, orgId: 42 },
          store: new LocklessStore(),
          as: (req) => {
            const org = headerOf(req, 'x-org');
            return org === undefined ? undefined : { orgId: Number(org) };
          },
        }),
      );
      const responses = await Promise.all(
        Array.from({ length: 60 }, (_, i) => {
          const call = request(app).get('/me');
          return i % 3 === 0 ? call : call.set('x-org', i % 3 === 1 ? '42' : '43');
        }),
      );
      responses.forEach((response, i) => {
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ currentOrg: { id: i % 3 === 2 ? 43 : 42 } });
      });
      // `as({ orgId: 42 })` is the client itself: one login per org.
      expect(orgs.stats.successfulLogins).toBe(2);
    });

    it('with as: { impersonateUserId } sends the header on that request’s calls only', async () => {
      const app = await listen(
        makeApp({
          client: createApiClient({ baseUrl: upstream.baseUrl, auth: { apiKey: 'demo-api-key' } }),
          as: (req) => {
            const user = headerOf(req, 'x-user');
            return user === undefined ? undefined : { impersonateUserId: String(user) };
          },
        }),
      );
      await request(app).get('/me').set('x-user', '1').expect(200);
      await request(app).get('/me').expect(200);
      await request(app).get('/me').set('x-user', '2').expect(200);
      expect(upstream.requests.map((entry) => entry.impersonateUserId)).toEqual([
        '1',
        undefined,
        '2',
      ]);
    });

    it('an as() that does not fit the auth is a problem+json 500', async () => {
      const app = await listen(
        makeApp({ ...options(), as: () => ({ impersonateUserId: 'secret-canary' }) }),
      );
      const response = await request(app).get('/me').expect(500);
      expect(JSON.parse(response.text)).toMatchObject({ code: 'E_CONFIG' });
      expect(response.text).not.toContain('secret-canary');
    });

    const makeHttp2App = more.http2;
    if (makeHttp2App !== undefined) {
      describe('over HTTP/2', () => {
        const sessions = new Set<{ destroy(): void }>();
        const http2Servers: Http2Server[] = [];
        const listenHttp2 = async (
          app: Http2Server | Promise<Http2Server>,
        ): Promise<Http2Server> => {
          const server = await app;
          http2Servers.push(server);
          server.on('session', (session) => sessions.add(session));
          await once(server.listen(0, '127.0.0.1'), 'listening');
          return server;
        };
        /** Opens a stream of a new HTTP/2 connection to `server`. */
        const open = (server: Http2Server, path: string) => {
          const session: ClientHttp2Session = connectHttp2(
            `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          );
          session.on('error', () => {});
          sessions.add(session);
          const stream = session.request({ ':path': path });
          stream.on('error', () => {});
          stream.end();
          return stream;
        };

        afterEach(() => {
          for (const session of sessions) session.destroy();
          sessions.clear();
          for (const server of http2Servers.splice(0)) server.close();
        });

        it('serves apiFetch over HTTP/2', async () => {
          const app = await listenHttp2(makeHttp2App(options()));
          const stream = open(app, '/me');
          const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
          stream.setEncoding('utf8');
          let body = '';
          for await (const chunk of stream) body += chunk as string;
          expect(headers[':status']).toBe(200);
          expect(JSON.parse(body)).toMatchObject({ email: DEMO_USER.email });
        });

        it('aborts the upstream call when the downstream client resets its stream', async () => {
          const slow = await startSilentServer(listen);
          const app = await listenHttp2(makeHttp2App(options({ allowedOrigins: [slow.origin] })));
          const stream = open(app, `/external?url=${encodeURIComponent(slow.url)}`);
          const upstreamRequest = await slow.arrived;
          const aborted = once(upstreamRequest, 'error').then(([error]) => error as unknown);
          // RST_STREAM: the connection stays up, only this request ends.
          stream.close(http2.NGHTTP2_CANCEL);
          const seen = await within(abortSeenWithinMs, aborted);
          expect(
            seen,
            `the upstream request was not aborted within ${abortSeenWithinMs} ms`,
          ).not.toBe(timedOut);
          expect(seen).toMatchObject({ code: 'ECONNRESET', message: 'aborted' });
        });

        it('does not send a call made after the downstream client reset its stream', async () => {
          const slow = await startSilentServer(listen);
          const late = reported<{ call: Promise<Response> }>();
          const app = await listenHttp2(
            makeHttp2App(options({ allowedOrigins: [slow.origin] }), {
              lateCall: (call) => late.report({ call }),
            }),
          );
          const arrived = once(app, 'request');
          const stream = open(app, `/late?url=${encodeURIComponent(slow.url)}`);
          await arrived;
          stream.close(http2.NGHTTP2_CANCEL);

          await expectLateCallNeverSent(late.promise, slow);
        });
      });
    }
  });
}

/** A request header, from an Express request or a Koa context alike. */
/** A request header, from a Node-style request (`headers`) or a Hono context (`req.header()`). */
function headerOf(req: unknown, name: string): string | string[] | undefined {
  const from = req as {
    headers?: Record<string, string | string[] | undefined>;
    req?: { header?: (name: string) => string | undefined };
  };
  return from.headers !== undefined ? from.headers[name] : from.req?.header?.(name);
}

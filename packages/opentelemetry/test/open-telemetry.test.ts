import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import {
  createClientPool,
  createTokenManager,
  MemoryTokenStore,
  sessionTokenAuth,
  type TokenStore,
} from '@tokenfetch/core';
import { DEMO_USER } from '@tokenfetch/mock-upstream';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTelemetry } from '../src/index.js';
import { clientFor, millis, onCleanup, startMock, startTelemetry, total } from './helpers.js';

describe('openTelemetry()', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    context.disable();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a burst of 50 calls makes one tokenfetch.login span, from the start of the login to its end, and counts one login', async () => {
    const telemetry = startTelemetry();
    const mock = await startMock();
    mock.setLoginDelay(100);
    const client = clientFor(mock, { onEvent: openTelemetry(telemetry) });
    const before = Date.now();

    const responses = await Promise.all(Array.from({ length: 50 }, () => client.fetch('/data')));

    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    const spans = telemetry.spans();
    expect(spans.map((span) => span.name)).toEqual(['tokenfetch.login']);
    const [login] = spans;
    expect(login?.attributes).toEqual({
      'server.address': '127.0.0.1',
      'tokenfetch.source': 'login',
      'tokenfetch.background': false,
    });
    expect(login?.status.code).toBe(SpanStatusCode.UNSET);
    expect(millis(login!.startTime)).toBeGreaterThanOrEqual(before);
    expect(millis(login!.endTime) - millis(login!.startTime)).toBeGreaterThanOrEqual(99);
    const metrics = await telemetry.metrics();
    expect(metrics.get('tokenfetch.logins')?.points).toEqual([
      { attributes: { 'tokenfetch.source': 'login' }, value: 1 },
    ]);
    const duration = metrics.get('tokenfetch.login.duration');
    expect(duration?.unit).toBe('s');
    expect((duration?.points[0]?.value as Histogram).count).toBe(1);
    expect(total(metrics, 'tokenfetch.login.failures')).toBe(0);
  });

  it('a wrong password: an ERROR span with error.type E_INVALID_CREDENTIALS, and one failure counted', async () => {
    const telemetry = startTelemetry();
    const mock = await startMock();
    const client = clientFor(mock, {
      onEvent: openTelemetry(telemetry),
      auth: { email: DEMO_USER.email, password: 'wrong', orgId: 1 },
    });

    await expect(client.fetch('/data')).rejects.toMatchObject({ code: 'E_INVALID_CREDENTIALS' });

    const [login] = telemetry.spans();
    expect(login?.name).toBe('tokenfetch.login');
    expect(login?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'E_INVALID_CREDENTIALS' });
    expect(login?.attributes['error.type']).toBe('E_INVALID_CREDENTIALS');
    const metrics = await telemetry.metrics();
    expect(metrics.get('tokenfetch.login.failures')?.points).toEqual([
      {
        attributes: { 'error.type': 'E_INVALID_CREDENTIALS', 'http.response.status_code': 401 },
        value: 1,
      },
    ]);
    expect(total(metrics, 'tokenfetch.logins')).toBe(0);
  });

  it('a login that fails with 503 after its retries counts the status; each retry is a span event', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const telemetry = startTelemetry();
    const mock = await startMock();
    mock.failNextLogins(503, 3);
    const client = clientFor(mock, { onEvent: openTelemetry(telemetry) });

    await expect(client.getToken()).rejects.toMatchObject({ code: 'E_LOGIN_FAILED' });

    const [login] = telemetry.spans();
    expect(login?.attributes).toMatchObject({
      'error.type': 'E_LOGIN_FAILED',
      'http.response.status_code': 503,
    });
    expect(login?.events.map((event) => [event.name, event.attributes])).toEqual(
      [1, 2].map((attempt) => [
        'tokenfetch.login.retry',
        {
          'tokenfetch.login.attempt': attempt,
          'error.type': 'E_LOGIN_FAILED',
          'http.response.status_code': 503,
        },
      ]),
    );
    expect((await telemetry.metrics()).get('tokenfetch.login.failures')?.points).toEqual([
      {
        attributes: { 'error.type': 'E_LOGIN_FAILED', 'http.response.status_code': 503 },
        value: 1,
      },
    ]);
  });

  it('a login that succeeds after a retry is one span holding the retry, counted as one login', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const telemetry = startTelemetry();
    const mock = await startMock();
    mock.failNextLogins(500, 1);
    const client = clientFor(mock, { onEvent: openTelemetry(telemetry) });

    await client.getToken();

    const spans = telemetry.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[0]?.events.map((event) => event.name)).toEqual(['tokenfetch.login.retry']);
    const metrics = await telemetry.metrics();
    expect(total(metrics, 'tokenfetch.logins')).toBe(1);
    expect(total(metrics, 'tokenfetch.login.failures')).toBe(0);
  });

  it('a revoked token is counted as a reauth with its status, and its new login as a login', async () => {
    const telemetry = startTelemetry();
    const mock = await startMock();
    const client = clientFor(mock, { onEvent: openTelemetry(telemetry) });
    await client.getToken();
    mock.revokeTokens();

    expect((await client.fetch('/data')).status).toBe(200);

    const metrics = await telemetry.metrics();
    expect(metrics.get('tokenfetch.reauths')?.points).toEqual([
      { attributes: { 'http.response.status_code': 403, 'tokenfetch.replayed': true }, value: 1 },
    ]);
    expect(total(metrics, 'tokenfetch.logins')).toBe(2);
    expect(telemetry.spans().map((span) => span.name)).toEqual([
      'tokenfetch.login',
      'tokenfetch.login',
    ]);
  });

  it("a reauth inside an active span adds a tokenfetch.reauth event to it; a caller's login is its child", async () => {
    const telemetry = startTelemetry();
    const tracer = telemetry.tracerProvider.getTracer('test');
    const mock = await startMock();
    const client = clientFor(mock, { onEvent: openTelemetry(telemetry) });

    await tracer.startActiveSpan('GET /me', async (request) => {
      await client.getToken();
      mock.revokeTokens();
      await client.fetch('/user/users/me');
      request.end();
    });

    const spans = telemetry.spans();
    const request = spans.find((span) => span.name === 'GET /me');
    expect(request?.events.map((event) => [event.name, event.attributes])).toEqual([
      ['tokenfetch.reauth', { 'http.response.status_code': 403, 'tokenfetch.replayed': true }],
    ]);
    const logins = spans.filter((span) => span.name === 'tokenfetch.login');
    expect(logins).toHaveLength(2);
    for (const login of logins) {
      expect(login.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    }
  });

  it('a background refresh is a login span of its own trace, marked background', async () => {
    let now = 1_700_000_000_000;
    const clock = () => now;
    const telemetry = startTelemetry();
    const tracer = telemetry.tracerProvider.getTracer('test');
    const mock = await startMock({ now: clock });
    const client = clientFor(mock, { now: clock, onEvent: openTelemetry(telemetry) });
    await client.getToken();
    now += 900_000 - 1_000 - 60_000; // inside the refresh window

    await tracer.startActiveSpan('GET /data', async (request) => {
      await client.fetch('/data');
      request.end();
    });
    await vi.waitFor(() => expect(telemetry.spans()).toHaveLength(3));

    const refresh = telemetry.spans().find((span) => span.attributes['tokenfetch.background']);
    expect(refresh?.name).toBe('tokenfetch.login');
    expect(refresh?.parentSpanContext).toBeUndefined();
  });

  it('a token store that is down: each failed operation is counted, and calls still succeed', async () => {
    const telemetry = startTelemetry();
    const mock = await startMock();
    // Nothing listens on this port: every command fails at once (no offline queue).
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true });
    redis.on('error', () => {});
    redis.connect().catch(() => {});
    onCleanup(() => redis.disconnect());
    const client = clientFor(mock, {
      store: new RedisTokenStore({ redis }),
      onEvent: openTelemetry(telemetry),
    });

    expect((await client.fetch('/data')).status).toBe(200);
    mock.revokeTokens();
    expect((await client.fetch('/data')).status).toBe(200);

    const metrics = await telemetry.metrics();
    expect(total(metrics, 'tokenfetch.store.errors', { 'tokenfetch.store.operation': 'get' })).toBe(
      2,
    );
    expect(total(metrics, 'tokenfetch.store.errors')).toBe(2);
    expect(total(metrics, 'tokenfetch.logins')).toBe(2);
  });

  it('the tokenfetch.token.remaining gauge reports the seconds until each client’s token expires', async () => {
    const telemetry = startTelemetry();
    const onEvent = openTelemetry(telemetry);
    const mock = await startMock({ users: [{ ...DEMO_USER, orgs: [1, 2] }] });
    await clientFor(mock, {
      onEvent,
      auth: sessionTokenAuth({ ...demoAuth, ttlMs: 600_000 }),
    }).getToken();
    const org2 = sessionTokenAuth({ ...demoAuth, orgId: 2, ttlMs: 300_000 });
    await clientFor(mock, { onEvent, auth: org2 }).getToken();

    const gauge = (await telemetry.metrics()).get('tokenfetch.token.remaining');

    expect(gauge?.unit).toBe('s');
    const remaining = (gauge?.points ?? []).map((point) => point.value as number);
    remaining.sort((a, b) => a - b);
    expect(remaining).toHaveLength(2);
    expect(remaining[0]).toBeGreaterThan(290);
    expect(remaining[0]).toBeLessThanOrEqual(300);
    expect(remaining[1]).toBeGreaterThan(590);
    expect(remaining[1]).toBeLessThanOrEqual(600);
    for (const point of gauge?.points ?? []) {
      expect(point.attributes['server.address']).toBe('127.0.0.1');
      expect(point.attributes['tokenfetch.client.id']).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('the gauge keeps a series per client still open: a pool’s dropped clients and closed ones let theirs go', async () => {
    // A delta reader shows what is observed at each collection. (A cumulative one, the SDK's
    // default, repeats every attribute set it has ever exported: see the README.)
    const telemetry = startTelemetry(AggregationTemporality.DELTA);
    const onEvent = openTelemetry(telemetry);
    const orgs = Array.from({ length: 20 }, (_, i) => i + 1);
    const mock = await startMock({ users: [{ ...DEMO_USER, orgs }] });
    const pool = createClientPool({
      onEvent,
      maxClients: 3,
      resolve: (tenant) => ({
        baseUrl: mock.baseUrl,
        auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: Number(tenant) },
      }),
    });
    onCleanup(() => pool.close());
    const series = async () =>
      ((await telemetry.metrics()).get('tokenfetch.token.remaining')?.points ?? []).length;

    let most = 0;
    for (const org of orgs) {
      await (await pool.client(String(org)).fetch('/data')).text();
      most = Math.max(most, await series());
    }
    expect(most).toBeGreaterThan(0);
    // Dropped clients close once drained (the next turn): their series go.
    await vi.waitFor(async () => expect(await series()).toBeLessThanOrEqual(3));
    await pool.close();
    expect(await series()).toBe(0);
  });

  it('the gauge goes to 0 once the token has expired, or when a login fails with no token left', async () => {
    const telemetry = startTelemetry();
    const onEvent = openTelemetry(telemetry);
    const mock = await startMock();
    const remaining = async () =>
      ((await telemetry.metrics()).get('tokenfetch.token.remaining')?.points ?? []).map(
        (point) => point.value,
      );
    const client = clientFor(mock, { onEvent, loginRetries: 0 });
    await client.getToken();
    expect((await remaining())[0]).toBeGreaterThan(890);

    mock.revokeTokens();
    mock.failNextLogins(503, 1);
    await expect(client.fetch('/data')).rejects.toMatchObject({ code: 'E_LOGIN_FAILED' });
    expect(await remaining()).toEqual([0]);

    await client.getToken();
    expect((await remaining())[0]).toBeGreaterThan(890);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 900_001 });
    onCleanup(() => vi.useRealTimers());
    expect(await remaining()).toEqual([0]);
  });

  it('events of a token manager on its own (no server address, no client id) still make spans and metrics', async () => {
    const telemetry = startTelemetry();
    const manager = createTokenManager({
      login: () => Promise.resolve({ token: 'a-token' }),
      onEvent: openTelemetry(telemetry),
    });
    onCleanup(() => manager.close());

    await manager.getToken();

    expect(telemetry.spans().map((span) => span.attributes)).toEqual([
      { 'tokenfetch.source': 'login', 'tokenfetch.background': false },
    ]);
    const metrics = await telemetry.metrics();
    expect(total(metrics, 'tokenfetch.logins')).toBe(1);
    expect(metrics.get('tokenfetch.token.remaining')?.points.map((p) => p.attributes)).toEqual([
      {},
    ]);
  });

  it('with no providers given, the global ones are used, as registered at the first event', async () => {
    const telemetry = startTelemetry();
    const listener = openTelemetry();
    const mock = await startMock();
    const client = clientFor(mock, { onEvent: listener });
    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    metrics.setGlobalMeterProvider(telemetry.meterProvider);
    onCleanup(() => {
      trace.disable();
      metrics.disable();
    });

    await client.getToken();

    expect(telemetry.spans().map((span) => span.name)).toEqual(['tokenfetch.login']);
    expect(total(await telemetry.metrics(), 'tokenfetch.logins')).toBe(1);
  });

  it('no password, token or store error text reaches any span, span event, status or metric', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const password = 'canary-password-7f3a';
    const telemetry = startTelemetry();
    const mock = await startMock({ users: [{ ...DEMO_USER, password }] });
    const issued: string[] = [];
    mock.setLoginResponse((request) => {
      // The built-in handler refuses a wrong password; a right one gets a token we record.
      if ((JSON.parse(request.body) as { password?: string }).password !== password) return;
      const token = request.issueToken();
      issued.push(token);
      return { body: JSON.stringify({ token }) };
    });
    const inner = new MemoryTokenStore();
    const leakyStore: TokenStore = {
      get: (key) => inner.get(key),
      acquire: (key) => inner.acquire(key),
      commit: (lease, token) => inner.commit(lease, token),
      release: (lease, failure) => inner.release(lease, failure),
      // A store whose own error quotes what it holds.
      invalidate: () => Promise.reject(new Error(`cannot delete ${issued.join(',')} ${password}`)),
      getFailure: (key) => inner.getFailure(key),
    };
    const onEvent = openTelemetry(telemetry);
    const auth = { email: DEMO_USER.email, password, orgId: 1 };
    const client = clientFor(mock, { auth, store: leakyStore, onEvent });
    mock.failNextLogins(503, 1);

    await client.fetch('/data');
    mock.revokeTokens();
    await client.fetch('/data');
    const wrong = clientFor(mock, { auth: { ...auth, password: `${password}-wrong` }, onEvent });
    await expect(wrong.getToken()).rejects.toMatchObject({ code: 'E_INVALID_CREDENTIALS' });
    await vi.waitFor(async () =>
      expect(total(await telemetry.metrics(), 'tokenfetch.store.errors')).toBe(1),
    );

    expect(issued).toHaveLength(2);
    const spans = telemetry.spans().map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
    }));
    const dump = JSON.stringify({ spans, metrics: [...(await telemetry.metrics())] });
    expect(spans.length).toBeGreaterThanOrEqual(3);
    for (const secret of [password, ...issued]) expect(dump).not.toContain(secret);
  });
});

const demoAuth = { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

import { describe, expect, it, vi } from 'vitest';
import {
  ClientClosedError,
  ConfigError,
  createClientPool,
  MemoryTokenStore,
  type ClientPoolOptions,
  type SessionAuthStrategy,
  type TenantOptions,
} from '../src/index.js';
import {
  createClock,
  deferred,
  pause,
  rejectionOf,
  startMock,
  startRecorder,
  track,
} from './helpers.js';

const acme = { email: 'svc@acme.com', password: 'pw-acme-secret', orgs: [42, 43], id: 7 };
const globex = { email: 'svc@globex.com', password: 'pw-globex-secret', orgs: [9], id: 3 };

function poolOf(options: ClientPoolOptions) {
  return track(createClientPool(options));
}

/**
 * A strategy of 60 s tokens that logs in without I/O: its first login answers at once,
 * later ones (a background refresh) never do. Their signals show when the client's work
 * is ended (the client closed).
 */
function refreshNeverEnds(): { strategy: SessionAuthStrategy; logins: AbortSignal[] } {
  const logins: AbortSignal[] = [];
  const strategy: SessionAuthStrategy = {
    kind: 'session',
    headerNames: ['authorization'],
    ttlMs: 60_000,
    identity: 'tenant-a',
    login: ({ signal }) => {
      logins.push(signal);
      return logins.length === 1 ? Promise.resolve({ token: 'tok-1' }) : new Promise(() => {});
    },
  };
  return { strategy, logins };
}

describe('createClientPool: one client per tenant, resolved at its first call', () => {
  it('two tenants on two servers under 200 concurrent calls: one login each, no token crosses over', async () => {
    const acmeServer = await startMock({ users: [acme] });
    const globexServer = await startMock({ users: [globex] });
    const resolve = vi.fn(async (tenant: string): Promise<TenantOptions> => {
      await Promise.resolve();
      const [server, user] = tenant === 'acme' ? [acmeServer, acme] : [globexServer, globex];
      return {
        baseUrl: server.baseUrl,
        auth: { email: user.email, password: user.password, orgId: user.orgs[0]! },
      };
    });
    const pool = poolOf({ resolve, store: new MemoryTokenStore() });

    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        pool.client(i % 2 === 0 ? 'acme' : 'globex').fetch('/user/users/me'),
      ),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    expect(resolve).toHaveBeenCalledTimes(2);
    for (const server of [acmeServer, globexServer]) {
      expect(server.stats.successfulLogins).toBe(1);
      expect(server.stats.unknownCredentialCalls).toBe(0);
      expect(server.stats.rejectedCalls).toBe(0);
      expect(server.requests).toHaveLength(100);
    }
  });

  it('pool.client() is synchronous and resolves nothing before the first call', async () => {
    const resolve = vi.fn(() => ({ baseUrl: 'https://x.test/api', auth: { apiKey: 'k' } }));
    const pool = poolOf({ resolve });
    const client = pool.client('acme');
    expect(pool.client('acme')).toBe(client);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('a sync resolve runs once under concurrency too', async () => {
    const mock = await startMock({ users: [acme] });
    const resolve = vi.fn(() => ({
      baseUrl: mock.baseUrl,
      auth: { email: acme.email, password: acme.password, orgId: 42 },
    }));
    const pool = poolOf({ resolve });
    await Promise.all(Array.from({ length: 20 }, () => pool.client('acme').fetch('/data/x')));
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(mock.stats.successfulLogins).toBe(1);
  });

  it('tenants in different orgs of one server share a store and stay apart by key', async () => {
    const mock = await startMock({ users: [acme] });
    const pool = poolOf({
      baseUrl: mock.baseUrl,
      store: new MemoryTokenStore(),
      resolve: (tenant) => ({
        auth: { email: acme.email, password: acme.password, orgId: Number(tenant) },
      }),
    });
    expect(await pool.client('42').json('/user/users/me')).toMatchObject({
      currentOrg: { id: 42 },
    });
    expect(await pool.client('43').json('/user/users/me')).toMatchObject({
      currentOrg: { id: 43 },
    });
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('a throwing resolve rejects that tenant’s calls only, without its text, and runs again at the next call', async () => {
    const mock = await startMock({ users: [acme] });
    let failures = 1;
    const resolve = vi.fn((tenant: string) => {
      if (tenant === 'broken' && failures-- > 0) throw new Error(`vault said ${acme.password}`);
      return {
        baseUrl: mock.baseUrl,
        auth: { email: acme.email, password: acme.password, orgId: 42 },
      };
    });
    const pool = poolOf({ resolve });

    const [broken, fine] = await Promise.allSettled([
      pool.client('broken').fetch('/data/x'),
      pool.client('fine').fetch('/data/x'),
    ]);
    expect(broken.status).toBe('rejected');
    const error = (broken as PromiseRejectedResult).reason as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([{ path: 'resolve', message: expect.stringContaining('threw') }]);
    expect(error.message).not.toContain(acme.password);
    expect(fine.status).toBe('fulfilled');

    expect((await pool.client('broken').fetch('/data/x')).status).toBe(200);
    expect(resolve.mock.calls.filter(([tenant]) => tenant === 'broken')).toHaveLength(2);
  });

  it('a hanging resolve fails the tenant’s calls after loginTimeoutMs', async () => {
    const pool = poolOf({
      resolve: () => new Promise<TenantOptions>(() => {}),
      loginTimeoutMs: 50,
    });
    const error = await rejectionOf(pool.client('slow').fetch('/data/x'));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({
      path: 'resolve',
      message: expect.stringContaining('loginTimeoutMs'),
    });
  });

  it('invalid tenant options name the fields, never the values', async () => {
    const secret = 'pw-never-shown';
    const pool = poolOf({
      resolve: (tenant) =>
        tenant === 'bad'
          ? {
              baseUrl: `ftp://${secret}.test`,
              auth: { email: 'a@b.c', password: secret, orgId: {} },
            }
          : { baseUrl: 'https://x.test', auth: { apiKey: 'k' }, store: new MemoryTokenStore() },
    } as ClientPoolOptions);

    const bad = (await rejectionOf(pool.client('bad').fetch('/x'))) as ConfigError;
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.issues.map((issue) => issue.path).sort()).toEqual(['auth.orgId', 'baseUrl']);
    expect(bad.message).not.toContain(secret);

    const poolOnly = (await rejectionOf(pool.client('own-store').fetch('/x'))) as ConfigError;
    expect(poolOnly.issues).toEqual([
      { path: 'store', message: 'is set on the pool, not per tenant' },
    ]);
  });

  it('refuses bad pool options at once', () => {
    expect(() =>
      createClientPool({ resolve: undefined as never, maxClients: 0, timeoutMs: -1 }),
    ).toThrow(ConfigError);
    try {
      createClientPool({ resolve: undefined as never, maxClients: 0, timeoutMs: -1 });
    } catch (error) {
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual([
        'maxClients',
        'resolve',
        'timeoutMs',
      ]);
    }
  });
});

describe('createClientPool: bounds', () => {
  it('past maxClients closes the least recently used client; its next call builds it again, with the token the pool remembers', async () => {
    const mock = await startMock({ users: [acme] });
    const resolve = vi.fn((tenant: string) => ({
      baseUrl: mock.baseUrl,
      auth: { email: acme.email, password: acme.password, orgId: tenant === 'a' ? 42 : 43 },
    }));
    const pool = poolOf({ resolve, maxClients: 2 });
    await pool.client('a').fetch('/x');
    await pool.client('b').fetch('/x');
    await pool.client('a').fetch('/x'); // a is now the most recent
    await pool.client('c').fetch('/x'); // evicts b
    expect(pool.size).toBe(2);
    // b and c log in to the same org: the pool's one store gives c b's token.
    expect(mock.stats.successfulLogins).toBe(2);

    await pool.client('a').fetch('/x');
    expect(resolve.mock.calls.filter(([tenant]) => tenant === 'a')).toHaveLength(1);
    await pool.client('b').fetch('/x');
    expect(resolve.mock.calls.filter(([tenant]) => tenant === 'b')).toHaveLength(2);
    // Made again, b's client takes its token from the pool's store: no second login.
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('an evicted client’s call already sent finishes', async () => {
    const recorder = await startRecorder();
    const pool = poolOf({
      maxClients: 1,
      resolve: () => ({ baseUrl: `${recorder.origin}/api`, auth: { apiKey: 'k' } }),
    });
    const body = deferred();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('part 1,'));
        await body.promise;
        controller.enqueue(new TextEncoder().encode('part 2'));
        controller.close();
      },
    });
    const slow = pool.client('a').fetch('/slow', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await vi.waitFor(() => expect(recorder.requests).toHaveLength(1));
    await pool.client('b').fetch('/other'); // evicts a
    expect(pool.size).toBe(1);
    body.resolve();
    const response = await slow;
    expect(response.status).toBe(200);
    expect(recorder.requests[0]?.body).toBe('part 1,part 2');
  });

  it('an evicted client’s call waiting for its login finishes', async () => {
    const mock = await startMock({ users: [acme] });
    mock.setLoginDelay(100);
    const pool = poolOf({
      maxClients: 1,
      resolve: (tenant) =>
        tenant === 'a'
          ? {
              baseUrl: mock.baseUrl,
              auth: { email: acme.email, password: acme.password, orgId: 42 },
            }
          : { baseUrl: mock.baseUrl, auth: { apiKey: 'k' } },
    });
    const waiting = pool.client('a').fetch('/x');
    await vi.waitFor(() => expect(mock.stats.inFlightLogins).toBe(1));
    await pool.client('b').fetch('/y'); // evicts a while its call waits for the login
    expect(pool.size).toBe(1);
    expect((await waiting).status).toBe(200);
  });

  it('an evicted client is closed when its last answer is done, not before: its background login ends then', async () => {
    const api = await startRecorder();
    const clock = createClock();
    const { strategy, logins } = refreshNeverEnds();
    const pool = poolOf({
      maxClients: 1,
      now: clock.now,
      resolve: (tenant) =>
        tenant === 'a'
          ? { baseUrl: `${api.origin}/api`, auth: strategy }
          : { baseUrl: `${api.origin}/api`, auth: { apiKey: 'k' } },
    });
    await (await pool.client('a').fetch('/first')).text();
    // Inside the token's refresh window (its last ~20 s): the next call starts a refresh.
    clock.advance(60_000 - 1_000 - 10_000);
    const body = deferred();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('part 1,'));
        await body.promise;
        controller.close();
      },
    });
    const slow = pool.client('a').fetch('/slow', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await vi.waitFor(() => expect(api.requests).toHaveLength(2));
    expect(logins).toHaveLength(2);

    await pool.client('b').fetch('/other'); // evicts a while its call is in flight
    expect(pool.size).toBe(1);
    expect(logins[1]!.aborted).toBe(false);
    body.resolve();
    const answer = await slow;
    expect(answer.status).toBe(200);
    // The answer is not read yet: the client is still open.
    await pause(20);
    expect(logins[1]!.aborted).toBe(false);
    await answer.text();
    await vi.waitFor(() => expect(logins[1]!.aborted).toBe(true));
    expect(logins[1]!.reason).toBeInstanceOf(ClientClosedError);
  });

  it('a client unused for idleTimeoutMs is closed (injected clock)', async () => {
    const mock = await startMock({ users: [acme] });
    const clock = createClock();
    const resolve = vi.fn(() => ({
      baseUrl: mock.baseUrl,
      auth: { email: acme.email, password: acme.password, orgId: 42 },
    }));
    const pool = poolOf({ resolve, idleTimeoutMs: 60_000, now: clock.now });
    await pool.client('a').fetch('/x');
    clock.advance(59_999);
    await pool.client('a').fetch('/x');
    clock.advance(59_999);
    await pool.client('b').fetch('/x'); // a used 59.999 s ago: kept
    expect(pool.size).toBe(2);
    clock.advance(1);
    await pool.client('b').fetch('/x'); // a idle for 60 s: closed
    expect(pool.size).toBe(1);
    await pool.client('a').fetch('/x');
    expect(resolve).toHaveBeenCalledTimes(3);
  });

  it('idle clients are closed by an unref’d timer when no call comes', async () => {
    const api = await startRecorder();
    const clock = createClock();
    const { strategy, logins } = refreshNeverEnds();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    try {
      const pool = poolOf({
        resolve: () => ({ baseUrl: `${api.origin}/api`, auth: strategy }),
        idleTimeoutMs: 1_000,
        now: clock.now,
      });
      // Made at module scope, a pool starts no timer (Workers forbid one there)...
      expect(setInterval).not.toHaveBeenCalled();
      await (await pool.client('a').fetch('/first')).text();
      // ...its first tenant does, unref'd.
      const [sweeper] = setInterval.mock.results.map((result) => result.value as NodeJS.Timeout);
      expect(sweeper?.hasRef()).toBe(false);

      clock.advance(49_000); // inside the token's refresh window: a refresh starts
      await (await pool.client('a').fetch('/second')).text();
      expect(logins).toHaveLength(2);

      clock.advance(999);
      vi.advanceTimersByTime(1_000);
      expect(pool.size).toBe(1);
      expect(logins[1]!.aborted).toBe(false);
      clock.advance(1); // no call for 1 s: the sweeper drops the client, which closes, ending its refresh
      vi.advanceTimersByTime(1_000);
      expect(pool.size).toBe(0);
      await vi.waitFor(() => expect(logins[1]!.aborted).toBe(true));
    } finally {
      setInterval.mockRestore();
      vi.useRealTimers();
    }
  });

  it('pool.close() closes every client and the pool’s connections; later calls reject with ClientClosedError', async () => {
    const api = await startRecorder();
    const clock = createClock();
    const { strategy, logins } = refreshNeverEnds();
    const pool = createClientPool({
      resolve: () => ({ baseUrl: `${api.origin}/api`, auth: strategy }),
      now: clock.now,
    });
    const client = pool.client('a');
    await (await client.fetch('/x')).text();
    clock.advance(49_000); // inside the token's refresh window: a refresh starts
    await (await client.fetch('/y')).text();
    expect(logins).toHaveLength(2);
    expect(api.open).toBeGreaterThan(0); // kept alive by the pool's Agent

    await pool.close();

    expect(logins[1]!.aborted).toBe(true);
    await vi.waitFor(() => expect(api.open).toBe(0));
    expect(await rejectionOf(client.fetch('/x'))).toBeInstanceOf(ClientClosedError);
    expect(await rejectionOf(pool.client('b').fetch('/x'))).toBeInstanceOf(ClientClosedError);
    expect(api.requests).toHaveLength(2);
  });

  it('pool.close() ends a call that hangs instead of waiting for it', async () => {
    const recorder = await startRecorder(() => 'hang');
    const pool = createClientPool({
      resolve: () => ({ baseUrl: `${recorder.origin}/api`, auth: { apiKey: 'k' } }),
    });
    const order: string[] = [];
    const hanging = pool
      .client('a')
      .fetch('/hang')
      .then(
        () => order.push('answered'),
        (error: unknown) => {
          order.push('rejected');
          return error;
        },
      );
    await vi.waitFor(() => expect(recorder.requests).toHaveLength(1));

    // The upstream never answers: a close() that waited for the call would not resolve.
    const closed = await Promise.race([
      pool.close().then(() => order.push('closed')),
      pause(2_000).then(() => 'still closing'),
    ]);

    expect(closed).not.toBe('still closing');
    expect(order).toEqual(['rejected', 'closed']);
    expect(await hanging).toBeInstanceOf(ClientClosedError);
  });

  it('a tenant’s client.as() acts in another org of that tenant', async () => {
    const mock = await startMock({ users: [acme] });
    const pool = poolOf({
      resolve: () => ({
        baseUrl: mock.baseUrl,
        auth: { email: acme.email, password: acme.password, orgId: 42 },
      }),
    });
    expect(await pool.client('a').as({ orgId: 43 }).json('/user/users/me')).toMatchObject({
      currentOrg: { id: 43 },
    });
  });
});

describe('createClientPool: the process may exit while a pool is open', () => {
  it('on Deno, whose timers are numbers, the idle sweeper is unref’d through Deno.unrefTimer', async () => {
    const unrefTimer = vi.fn();
    vi.stubGlobal('Deno', { unrefTimer, refTimer: vi.fn() });
    const realSetInterval = globalThis.setInterval;
    const ids: number[] = [];
    vi.stubGlobal('setInterval', (handler: () => void, ms: number) => {
      clearInterval(realSetInterval(handler, ms));
      ids.push(4242);
      return 4242;
    });
    try {
      const pool = createClientPool({
        resolve: () => ({ baseUrl: 'http://127.0.0.1:1', auth: { apiKey: 'k' } }),
      });
      pool.client('a'); // the sweeper starts with the first tenant
      await pool.close();
    } finally {
      vi.unstubAllGlobals();
    }

    expect(ids).toEqual([4242]);
    expect(unrefTimer).toHaveBeenCalledWith(4242);
  });
});

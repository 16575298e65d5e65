// durableObjectStore and TokenfetchStore on workerd (through miniflare), from two isolates:
// two workers bound to the same Durable Object class, as two isolates of one worker are in
// production. The Durable Object keeps its own clock (Date.now in workerd), so the few
// waits here are real, and short: a lock of 150 ms, a cooldown of 200 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  createApiClient,
  InvalidCredentialsError,
  type SharedFailure,
  type StoredToken,
  type TokenLease,
} from '@tokenfetch/core';
import { demoUser, startMockUpstream } from '@tokenfetch/mock-upstream';
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/store-worker.js', import.meta.url));
const source = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const secretToken = 'tok-SECRET-0123456789abcdef';

let mf: Miniflare;
let dir: string;
const urls: Record<'a' | 'b', string> = { a: '', b: '' };
let keys = 0;
/** A key of its own for each test: each is its own Durable Object. */
const freshKey = () => `${'k'.repeat(60)}-${++keys}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokenfetch-cloudflare-'));
  const script = join(dir, 'worker.js');
  await build({
    entryPoints: [fixture],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    alias: { '@tokenfetch/cloudflare': source },
    tsconfigRaw: {},
    outfile: script,
    logLevel: 'warning',
  });
  const worker = (name: string, serve: boolean) => ({
    name,
    modules: [{ type: 'ESModule' as const, path: script }],
    modulesRoot: dir,
    compatibilityDate: '2025-05-05',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: {
      TOKENS: { className: 'InspectableStore', scriptName: 'store', useSQLite: true },
      SLOW: { className: 'SlowStore', scriptName: 'store', useSQLite: true },
    },
    ...(serve ? { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] } : {}),
  });
  mf = new Miniflare({
    log: new Log(LogLevel.NONE),
    workers: [worker('a', true), worker('b', true), worker('store', false)],
  });
  await mf.ready;
  urls.a = (await mf.unsafeGetDirectURL('a')).href;
  urls.b = (await mf.unsafeGetDirectURL('b')).href;
});

afterAll(async () => {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** One store operation in isolate `at`; resolves with its value, rejects with its error. */
async function op<T>(
  at: 'a' | 'b',
  operation: string,
  args: unknown[],
  options: Record<string, unknown> = {},
  binding = 'TOKENS',
): Promise<T> {
  const response = await fetch(`${urls[at]}${binding}/${operation}`, {
    method: 'POST',
    headers: { 'x-options': JSON.stringify(options) },
    body: JSON.stringify(args),
  });
  const reply = (await response.json()) as { value?: T | null; error?: string };
  if (reply.error !== undefined) throw new Error(reply.error);
  return (reply.value ?? undefined) as T;
}

const store = (at: 'a' | 'b', options: Record<string, unknown> = {}) => ({
  get: (key: string) => op<StoredToken | undefined>(at, 'get', [key], options),
  acquire: (key: string) => op<TokenLease | undefined>(at, 'acquire', [key], options),
  commit: (lease: TokenLease, token: Omit<StoredToken, 'generation'>) =>
    op<boolean>(at, 'commit', [lease, token], options),
  release: (lease: TokenLease, failure?: SharedFailure) =>
    op<void>(at, 'release', failure === undefined ? [lease] : [lease, failure], options),
  invalidate: (key: string, generation: number) =>
    op<void>(at, 'invalidate', [key, generation], options),
  getFailure: (key: string) => op<SharedFailure | undefined>(at, 'getFailure', [key], options),
});
const a = store('a');
const b = store('b');
const inspect = <T>(key: string, method: string, ...args: unknown[]) =>
  op<T>('a', 'inspect', [key, method, ...args]);

function token(lifeMs = 60_000, value = secretToken): Omit<StoredToken, 'generation'> {
  const issuedAt = Date.now();
  return { token: value, issuedAt, expiresAt: issuedAt + lifeMs };
}

describe('durableObjectStore on workerd, shared by two isolates', () => {
  it('a token committed in one isolate is read in the other, its lifetime on the reader’s clock', async () => {
    const key = freshKey();
    expect(await b.get(key)).toBeUndefined();
    const lease = await a.acquire(key);
    expect(lease).toMatchObject({ key, generation: expect.any(Number) as number });
    const obtained = token(60_000);
    expect(await a.commit(lease!, obtained)).toBe(true);
    const read = await b.get(key);
    expect(read).toMatchObject({ token: secretToken, generation: lease!.generation });
    expect(read!.expiresAt - read!.issuedAt).toBe(60_000);
    expect(Math.abs(read!.expiresAt - obtained.expiresAt)).toBeLessThan(1_000);
  });

  it('keeps the strategy state written with a token (a sealed refresh token) for the other isolate', async () => {
    const key = freshKey();
    const lease = await a.acquire(key);
    expect(await a.commit(lease!, { ...token(), state: 'sealed-state-1' })).toBe(true);
    expect(await b.get(key)).toMatchObject({ token: secretToken, state: 'sealed-state-1' });
  });

  it('one lease at a time: the other isolate gets none until it is released, then a newer generation', async () => {
    const key = freshKey();
    const first = (await a.acquire(key))!;
    expect(await b.acquire(key)).toBeUndefined();
    expect(await a.acquire(key)).toBeUndefined();
    await a.release(first);
    const second = (await b.acquire(key))!;
    expect(second.generation).toBe(first.generation + 1);
    expect(second.id).not.toBe(first.id);
  });

  it('the first generation of a key is above the clock, so it is newer than any an instance remembers', async () => {
    const before = Date.now();
    const lease = (await a.acquire(freshKey()))!;
    expect(lease.generation).toBeGreaterThanOrEqual(before - 1_000);
  });

  it('release and commit free the lock only for the lease that holds it (compare-and-delete)', async () => {
    const key = freshKey();
    const held = (await a.acquire(key))!;
    await b.release({ ...held, id: 'someone-else' });
    expect(await b.acquire(key)).toBeUndefined();
    expect(await b.commit({ ...held, id: 'someone-else' }, token())).toBe(true);
    expect(await b.acquire(key)).toBeUndefined();
    await a.release(held);
    expect(await b.acquire(key)).toBeDefined();
  });

  it('a commit is accepted only for a generation newer than the stored one', async () => {
    const key = freshKey();
    const older = (await a.acquire(key))!;
    await a.release(older);
    const newer = (await b.acquire(key))!;
    expect(await b.commit(newer, token(60_000, 'tok-newer'))).toBe(true);
    // The stale leader's late write.
    expect(await a.commit(older, token(60_000, 'tok-stale'))).toBe(false);
    expect(await a.get(key)).toMatchObject({ token: 'tok-newer', generation: newer.generation });
  });

  it('invalidate drops the token only while it is that generation, and its generation still refuses an older write', async () => {
    const key = freshKey();
    const older = (await a.acquire(key))!;
    await a.release(older);
    const lease = (await a.acquire(key))!;
    await a.commit(lease, token());
    await b.invalidate(key, lease.generation - 1);
    expect(await b.get(key)).toBeDefined();
    await b.invalidate(key, lease.generation);
    expect(await a.get(key)).toBeUndefined();
    expect(await a.commit(older, token(60_000, 'tok-stale'))).toBe(false);
    expect(await a.get(key)).toBeUndefined();
  });

  it('a shared failure blocks every isolate’s lease for its cooldown, and ends with it', async () => {
    const key = freshKey();
    const lease = (await a.acquire(key))!;
    const failure: SharedFailure = {
      code: 'E_INVALID_CREDENTIALS',
      until: Date.now() + 200,
      status: 401,
    };
    await a.release(lease, failure);
    const seen = await b.getFailure(key);
    expect(seen).toMatchObject({ code: 'E_INVALID_CREDENTIALS', status: 401 });
    expect(seen!.until - Date.now()).toBeLessThanOrEqual(200);
    expect(await b.acquire(key)).toBeUndefined();
    await delay(250);
    expect(await b.getFailure(key)).toBeUndefined();
    expect(await b.acquire(key)).toBeDefined();
  });

  it('a commit clears the shared failure', async () => {
    const key = freshKey();
    const lease = (await a.acquire(key))!;
    await a.release(lease, { code: 'E_LOGIN_FAILED', until: Date.now() + 60_000, failures: 2 });
    expect(await b.getFailure(key)).toMatchObject({ code: 'E_LOGIN_FAILED', failures: 2 });
    // A lease taken before the failure was shared still commits.
    const late = { ...lease, generation: lease.generation + 1, id: 'late-leader' };
    expect(await b.commit(late, token())).toBe(true);
    expect(await a.getFailure(key)).toBeUndefined();
  });

  it('a failure of a code this version does not know is neither reported nor obeyed', async () => {
    const key = freshKey();
    const lease = (await a.acquire(key))!;
    await a.release(lease, {
      code: 'E_FROM_THE_FUTURE',
      until: Date.now() + 60_000,
    } as unknown as SharedFailure);
    expect(await b.getFailure(key)).toBeUndefined();
    expect(await b.acquire(key)).toBeDefined();
  });

  it('the lock of a holder that died expires after lockTtlMs', async () => {
    const key = freshKey();
    const short = store('a', { lockTtlMs: 150 });
    const dead = (await short.acquire(key))!;
    expect(await b.acquire(key)).toBeUndefined();
    await delay(200);
    const next = (await b.acquire(key))!;
    // Newer: with nothing else stored, the record was forgotten and starts at the clock.
    expect(next.generation).toBeGreaterThan(dead.generation);
  });

  it('everything it stores ends: once it all has, an alarm deletes the record, and generations still increase', async () => {
    const key = freshKey();
    const short = store('a', { lockTtlMs: 150 });
    const lease = (await short.acquire(key))!;
    expect(await inspect<string[]>(key, 'storedKeys')).toEqual(['tokenfetch']);
    expect(await inspect<number>(key, 'alarmAt')).toBeGreaterThan(Date.now() - 1_000);
    await delay(400);
    expect(await inspect<string[]>(key, 'storedKeys')).toEqual([]);
    const again = (await b.acquire(key))!;
    expect(again.generation).toBeGreaterThan(lease.generation);
  });

  it('a stored record it cannot read is a miss, and the next write replaces it', async () => {
    const poisons = [
      'not an object',
      { generation: 'x', token: { generation: 5, value: { token: 'has space' }, until: 1e15 } },
      {
        token: {
          generation: 5,
          value: { token: secretToken, issuedAt: 2, expiresAt: 1 },
          until: 1e15,
        },
      },
      {
        token: {
          generation: 5,
          value: { token: secretToken, issuedAt: 1, expiresAt: 2 },
          until: 1e15,
        },
      },
      { failure: { record: { code: 'lowercase' }, until: 1e15 } },
      { lock: { id: 42, until: 1e15 } },
    ];
    for (const poison of poisons) {
      const key = freshKey();
      await inspect(key, 'rig', poison);
      expect(await b.get(key)).toBeUndefined();
      expect(await b.getFailure(key)).toBeUndefined();
      const lease = (await a.acquire(key))!;
      expect(lease).toBeDefined();
      expect(await a.commit(lease, token())).toBe(true);
      expect(await b.get(key)).toMatchObject({ token: secretToken });
    }
  });

  it('a Durable Object that does not answer within timeoutMs fails the call, naming the operation only', async () => {
    await expect(op('a', 'get', [freshKey()], { timeoutMs: 50 }, 'SLOW')).rejects.toThrow(
      'durable object get timed out after 50 ms',
    );
  });

  it('the Durable Object refuses what no store sends, without echoing it', async () => {
    const key = freshKey();
    const lease = (await a.acquire(key))!;
    const error = await a
      .commit(lease, {
        token: 'bad token with spaces SECRET',
        issuedAt: 1,
        expiresAt: Date.now() + 60_000,
      })
      .catch((caught: unknown) => caught as Error);
    expect(String(error)).toContain('durable object commit failed');
    expect(String(error)).not.toContain('SECRET');
  });

  it('tenants never borrow (guarantee 14): a wrong password neither reads the token nor plants a failure the right one honours', async () => {
    const upstream = await startMockUpstream();
    const { email, password, orgs } = demoUser;
    const client = (at: 'a' | 'b', secret: string) =>
      createApiClient({
        baseUrl: upstream.baseUrl,
        auth: { email, password: secret, orgId: orgs[0]! },
        store: store(at),
      });
    const right = client('a', password);
    const wrong = client('b', 'not-the-password');
    const rightElsewhere = client('b', password);
    try {
      const token = await right.getToken();
      // Same email, org and Durable Object namespace, another password: it logs in itself.
      await expect(wrong.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
      expect(upstream.stats.loginAttempts).toBe(2);
      // The right password in the other isolate takes the stored token, refusal or not.
      expect(await rightElsewhere.getToken()).toBe(token);
      expect(upstream.stats.successfulLogins).toBe(1);
    } finally {
      await Promise.all([right.close(), wrong.close(), rightElsewhere.close()]);
      await upstream.close();
    }
  });
});

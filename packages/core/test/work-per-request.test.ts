// Issue 23, item 1: on a runtime where work belongs to a request (Cloudflare's workerd:
// platform/workerd.ts), a login (or a pool tenant's build) left behind by a request that
// ended, its timers dead with it, is started again by a later call instead of being waited
// on for ever; and where a background refresh would die with the call that starts it (no
// `waitUntil`), none is started. The Node build
// is made to say what workerd's does; the real thing runs on workerd in the runtime matrix
// (test/runtimes/matrix.mjs).
import { describe, expect, it, vi } from 'vitest';
import type * as platform from '#platform';
import { createClientPool, createTokenManager, MemoryTokenStore } from '../src/index.js';
import { createClock, startMock, track } from './helpers.js';

// Whether a background refresh outlives its call: workerd with `waitUntil`, or without it.
// What the engine asked to keep alive (`waitUntil` on workerd).
const runtime = vi.hoisted(() => ({
  backgroundWorkSurvives: true,
  kept: [] as Promise<unknown>[],
}));

vi.mock('#platform', async (load) => ({
  ...(await load<typeof platform>()),
  workBelongsToRequest: true,
  keepAlive: (work: Promise<unknown>) => runtime.kept.push(work),
  get backgroundWorkSurvives() {
    return runtime.backgroundWorkSurvives;
  },
}));

describe('a login left behind (guarantee 15; issue 23, item 1)', () => {
  it('one that never settles (its request ended, its timers with it) is started again by a later call', async () => {
    const clock = createClock();
    const started: string[] = [];
    const manager = createTokenManager({
      now: clock.now,
      loginTimeoutMs: 1_000,
      login: () => {
        started.push(`login ${started.length + 1}`);
        // The first login hangs for ever, as a Workers request cancelled under it would.
        return started.length === 1 ? new Promise(() => {}) : Promise.resolve({ token: 'fresh' });
      },
    });
    void manager.getToken().catch(() => {});
    await vi.waitFor(() => expect(started).toHaveLength(1));
    clock.advance(1_000); // within its own timeout and margin: joined, not restarted
    void manager.getToken().catch(() => {});
    expect(started).toHaveLength(1);
    clock.advance(5_001); // past them: left behind
    expect(await manager.getToken()).toBe('fresh');
    expect(started).toHaveLength(2);
    manager.close();
  });
});

describe('a runtime where a background refresh would die with its call, workerd without waitUntil (guarantee 2)', () => {
  it('starts none in the refresh window: the token is renewed when a call needs it', async () => {
    runtime.backgroundWorkSurvives = false;
    try {
      const clock = createClock();
      let logins = 0;
      const manager = createTokenManager({
        now: clock.now,
        ttlMs: 60_000,
        refreshAheadMs: 20_000,
        login: () => Promise.resolve({ token: `token-${++logins}` }),
      });
      expect(await manager.getToken()).toBe('token-1');
      clock.advance(50_000); // in the refresh window (its last 20 s)
      expect(await manager.getToken()).toBe('token-1');
      expect(manager.peekToken()).toBe('token-1');
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(logins).toBe(1);
      clock.advance(9_001); // within 1 s of its expiry: no longer used
      expect(manager.peekToken()).toBeUndefined();
      expect(await manager.getToken()).toBe('token-2');
      expect(logins).toBe(2);
      manager.close();
    } finally {
      runtime.backgroundWorkSurvives = true;
    }
  });
});

describe("a pool tenant's build left behind (guarantee 15; issue 23, item 1)", () => {
  it('one whose resolve never settles (its request ended, its timer with it) is started again by a later call', async () => {
    const mock = await startMock();
    const clock = createClock();
    const resolved: string[] = [];
    const pool = track(
      createClientPool({
        now: clock.now,
        // Long enough that resolve's own timer does not fire in the test, as a dead one would not.
        loginTimeoutMs: 60_000,
        resolve: () => {
          resolved.push(`resolve ${resolved.length + 1}`);
          return resolved.length === 1
            ? new Promise(() => {})
            : { baseUrl: mock.baseUrl, auth: { apiKey: 'demo-api-key' } };
        },
      }),
    );
    void pool
      .client('a')
      .fetch('/user/users/me')
      .catch(() => {});
    await vi.waitFor(() => expect(resolved).toHaveLength(1));
    clock.advance(60_000); // within its bound and margin: joined, not started again
    void pool
      .client('a')
      .fetch('/user/users/me')
      .catch(() => {});
    await Promise.resolve();
    expect(resolved).toHaveLength(1);
    clock.advance(5_001); // past them: left behind
    const response = await pool.client('a').fetch('/user/users/me');
    expect(response.status).toBe(200);
    await response.text();
    expect(resolved).toHaveLength(2);
  });
});

describe('work no caller awaits (guarantee 15; issue 23, item 1)', () => {
  it("a rejected token's removal from the store keeps its request alive until it is done", async () => {
    const store = new MemoryTokenStore();
    const manager = createTokenManager({
      store,
      login: () => Promise.resolve({ token: 'rejected' }),
    });
    const token = await manager.getToken();
    const before = runtime.kept.length;
    expect(manager.invalidate(token)).toBe(true);
    expect(runtime.kept).toHaveLength(before + 1);
    await runtime.kept.at(-1);
    expect(await store.get('default')).toBeUndefined();
    manager.close();
  });
});

// The memory a pool keeps in front of a shared store (engine/caching-store.ts): reads of a
// token it has seen are answered from memory while the token lasts; everything else goes to
// the store; a rejected token is forgotten; the least recently used goes first.
import { describe, expect, it } from 'vitest';
import { createCachingStore } from '../src/engine/caching-store.js';
import { MemoryTokenStore, type TokenStore } from '../src/index.js';

/** A MemoryTokenStore that counts its reads. */
function countingStore(): { store: TokenStore; reads: () => number } {
  const inner = new MemoryTokenStore();
  let reads = 0;
  const store: TokenStore = {
    get: (key) => (reads++, inner.get(key)),
    acquire: (key) => inner.acquire(key),
    commit: (lease, token) => inner.commit(lease, token),
    release: (lease, failure) => inner.release(lease, failure),
    invalidate: (key, generation) => inner.invalidate(key, generation),
    getFailure: (key) => inner.getFailure(key),
  };
  return { store, reads: () => reads };
}

async function write(store: TokenStore, key: string, token: string, expiresAt: number) {
  const lease = await store.acquire(key);
  expect(lease).toBeDefined();
  expect(await store.commit(lease!, { token, expiresAt, issuedAt: 0 })).toBe(true);
  return lease!.generation;
}

describe('createCachingStore', () => {
  it('answers a token it wrote from memory while it lasts, then asks the store again', async () => {
    let now = 1_000;
    const { store, reads } = countingStore();
    const cached = createCachingStore(store, { maxEntries: 10, now: () => now });
    await write(cached, 'a', 'token-a', 5_000);

    expect((await cached.get('a'))?.token).toBe('token-a');
    expect(reads()).toBe(0);
    now = 5_000;
    await cached.get('a'); // expired here: whatever the store says of it, it is asked
    expect(reads()).toBe(1);
  });

  it('remembers what it read from the store, and forgets a token rejected at its generation', async () => {
    const { store, reads } = countingStore();
    const generation = await write(store, 'b', 'token-b', 9_000);
    const cached = createCachingStore(store, { maxEntries: 10, now: () => 1_000 });

    expect((await cached.get('b'))?.token).toBe('token-b');
    expect((await cached.get('b'))?.token).toBe('token-b');
    expect(reads()).toBe(1);
    await cached.invalidate('b', generation + 1); // another generation: kept
    expect((await cached.get('b'))?.token).toBe('token-b');
    expect(reads()).toBe(1);
    await cached.invalidate('b', generation);
    expect(await cached.get('b')).toBeUndefined();
    expect(reads()).toBe(2);
  });

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const { store, reads } = countingStore();
    const cached = createCachingStore(store, { maxEntries: 2, now: () => 1_000 });
    await write(cached, 'x', 'tx', 9_000);
    await write(cached, 'y', 'ty', 9_000);
    await cached.get('x'); // y is now the least recently used
    await write(cached, 'z', 'tz', 9_000);

    expect(reads()).toBe(0);
    expect((await cached.get('x'))?.token).toBe('tx');
    expect((await cached.get('z'))?.token).toBe('tz');
    expect(reads()).toBe(0);
    expect((await cached.get('y'))?.token).toBe('ty');
    expect(reads()).toBe(1);
  });
});

import type { SharedFailure, StoredToken, TokenLease, TokenStore } from './token-store.js';

/**
 * A shared store (Redis) with this process's memory of the tokens it has seen in front of
 * it: a pool's tenant whose client was dropped and made again moments later takes its token
 * from here, not with a round trip to the store (its old client knew it). Only reads of a
 * token are answered here, and only with one still unexpired; everything that decides who
 * logs in (the lock, generations, shared failures) goes to the store. A token rejected
 * (`invalidate`) is forgotten here first. Bounded: the least recently used goes first.
 */
export function createCachingStore(
  store: TokenStore,
  options: { maxEntries: number; now: () => number },
): TokenStore {
  const { maxEntries, now } = options;
  const seen = new Map<string, StoredToken>();

  function remember(key: string, token: StoredToken): void {
    seen.delete(key);
    if (seen.size >= maxEntries) seen.delete(seen.keys().next().value!);
    seen.set(key, token);
  }

  return {
    async get(key) {
      const known = seen.get(key);
      if (known !== undefined && known.expiresAt > now()) {
        remember(key, known);
        return known;
      }
      seen.delete(key);
      const stored = await store.get(key);
      if (stored !== undefined) remember(key, stored);
      return stored;
    },
    acquire: (key) => store.acquire(key),
    async commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>) {
      const accepted = await store.commit(lease, token);
      if (accepted) remember(lease.key, { ...token, generation: lease.generation });
      return accepted;
    },
    release: (lease: TokenLease, failure?: SharedFailure) => store.release(lease, failure),
    invalidate(key, generation) {
      if (seen.get(key)?.generation === generation) seen.delete(key);
      return store.invalidate(key, generation);
    },
    getFailure: (key) => store.getFailure(key),
  };
}

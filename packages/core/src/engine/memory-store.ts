import { defaults } from '../shared/defaults.js';
import type { SharedFailure, StoredToken, TokenLease, TokenStore } from './token-store.js';

/** How many acquisitions pass between two sweeps of expired entries. */
const pruneEvery = 1_000;

interface Lock {
  id: string;
  until: number;
}

/**
 * A `TokenStore` in this process's memory. Each client has its own by default (a pool has
 * one for all its tenants); pass one instance to several clients so that those with the
 * same credentials share one token (keys are bound to the secret: others never do). What
 * has expired is dropped as the store is used, so many sets of credentials coming and going
 * do not grow it.
 */
export class MemoryTokenStore implements TokenStore {
  readonly lockTtlMs: number;
  readonly #tokens = new Map<string, StoredToken>();
  readonly #locks = new Map<string, Lock>();
  readonly #failures = new Map<string, SharedFailure>();
  readonly #generations = new Map<string, number>();
  readonly #now: () => number;
  #nextLease = 0;
  /** Writes since expired entries were last dropped. */
  #writes = 0;

  constructor(options: { lockTtlMs?: number; now?: () => number } = {}) {
    this.lockTtlMs = options.lockTtlMs ?? defaults.lockTtlMs;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): Promise<StoredToken | undefined> {
    return Promise.resolve(this.#tokens.get(key));
  }

  acquire(key: string): Promise<TokenLease | undefined> {
    const now = this.#now();
    this.#pruneNow(now);
    const held = this.#locks.get(key);
    if (held !== undefined && held.until > now) return Promise.resolve(undefined);
    const id = String(++this.#nextLease);
    this.#locks.set(key, { id, until: now + this.lockTtlMs });
    const generation = (this.#generations.get(key) ?? 0) + 1;
    this.#generations.set(key, generation);
    return Promise.resolve({ key, generation, id });
  }

  commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>): Promise<boolean> {
    const stored = this.#tokens.get(lease.key);
    const accepted = stored === undefined || stored.generation < lease.generation;
    if (accepted) {
      this.#tokens.set(lease.key, { ...token, generation: lease.generation });
      this.#failures.delete(lease.key);
    }
    this.#unlock(lease);
    return Promise.resolve(accepted);
  }

  release(lease: TokenLease, failure?: SharedFailure): Promise<void> {
    if (failure !== undefined) this.#failures.set(lease.key, failure);
    this.#unlock(lease);
    return Promise.resolve();
  }

  invalidate(key: string, generation: number): Promise<void> {
    if (this.#tokens.get(key)?.generation === generation) this.#tokens.delete(key);
    return Promise.resolve();
  }

  getFailure(key: string): Promise<SharedFailure | undefined> {
    const failure = this.#failures.get(key);
    if (failure !== undefined && failure.until <= this.#now()) this.#failures.delete(key);
    return Promise.resolve(this.#failures.get(key));
  }

  #unlock(lease: TokenLease): void {
    if (this.#locks.get(lease.key)?.id === lease.id) this.#locks.delete(lease.key);
  }

  /**
   * Every so many writes, drops expired tokens, locks and failures, and the generation of a
   * key left with none of them (no lease of it can be live then: a login ends before its
   * lock expires).
   */
  #pruneNow(now: number): void {
    if (++this.#writes < pruneEvery) return;
    this.#writes = 0;
    for (const [key, token] of this.#tokens) if (token.expiresAt <= now) this.#tokens.delete(key);
    for (const [key, lock] of this.#locks) if (lock.until <= now) this.#locks.delete(key);
    for (const [key, failure] of this.#failures) {
      if (failure.until <= now) this.#failures.delete(key);
    }
    for (const key of this.#generations.keys()) {
      if (!this.#tokens.has(key) && !this.#locks.has(key) && !this.#failures.has(key)) {
        this.#generations.delete(key);
      }
    }
  }
}

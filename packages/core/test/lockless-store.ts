import { MemoryTokenStore, type TokenLease } from '../src/index.js';

/**
 * A `MemoryTokenStore` without its login lock: `acquire` grants every caller a lease of a
 * new generation. With it, nothing but the token manager's own single-flight stands
 * between concurrent calls and a login each (the lock and its polling would hide its
 * absence). `acquires` counts the leases asked for.
 */
export class LocklessStore extends MemoryTokenStore {
  acquires = 0;

  override acquire(key: string): Promise<TokenLease> {
    this.acquires++;
    const generation = this.acquires;
    return Promise.resolve({ key, generation, id: `lease-${generation}` });
  }
}

import { randomBytes } from 'node:crypto';
import type { ResolvedUser } from './options.js';

/** What a session token stands for. */
export interface Session {
  readonly user: ResolvedUser;
  /** The org chosen at login, as listed in the user's `orgs`. */
  readonly orgId: string | number;
  readonly expiresAt: number;
}

const sweepThreshold = 10_000;

/**
 * Issues opaque session tokens and answers whether one is still valid, and whether it was
 * ever issued here.
 */
export class TokenRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  /**
   * Ends every token of this registry (8 random bytes, 11 base64url characters), so a token
   * from another server is told apart from a revoked or expired one at no memory cost.
   */
  readonly #mark = randomBytes(8).toString('base64url');

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A new token (32 bytes, base64url: 24 random, 8 of this registry's mark) valid for `ttlMs` from now. */
  issue(user: ResolvedUser, orgId: string | number, ttlMs: number): string {
    if (this.#sessions.size >= sweepThreshold) this.#sweep();
    const token = randomBytes(24).toString('base64url') + this.#mark;
    this.#sessions.set(token, { user, orgId, expiresAt: this.#now() + ttlMs });
    return token;
  }

  /** The token's session, or undefined when it is unknown, revoked or expired. */
  find(token: string): Session | undefined {
    const session = this.#sessions.get(token);
    if (session === undefined) return undefined;
    if (this.#now() >= session.expiresAt) {
      this.#sessions.delete(token);
      return undefined;
    }
    return session;
  }

  /** Whether this registry issued `token`, valid or not (it carries this registry's mark). */
  issued(token: string): boolean {
    return token.length === 43 && token.endsWith(this.#mark);
  }

  /** Makes every token issued so far invalid. */
  revokeAll(): void {
    this.#sessions.clear();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [token, session] of this.#sessions) {
      if (now >= session.expiresAt) this.#sessions.delete(token);
    }
  }
}

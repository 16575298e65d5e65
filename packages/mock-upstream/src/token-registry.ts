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

/** Issues opaque session tokens and answers whether one is still valid. */
export class TokenRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A new random token (32 bytes, base64url) valid for `ttlMs` from now. */
  issue(user: ResolvedUser, orgId: string | number, ttlMs: number): string {
    if (this.#sessions.size >= sweepThreshold) this.#sweep();
    const token = randomBytes(32).toString('base64url');
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

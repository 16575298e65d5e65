/** What a login produced. Lifetimes are optional: the smallest known one wins. */
export interface LoginResult {
  token: string;
  /** Lifetime the upstream announced, in ms from when the login was sent. */
  expiresInMs?: number | undefined;
  /** Absolute expiry the upstream announced, epoch ms. */
  expiresAt?: number | undefined;
  /**
   * What the strategy keeps with the token, opaque to core and to the stores: the rotated
   * refresh token of an OAuth strategy, sealed by it. Shared through the store with the
   * token; the next login (of any sharer) gets the newest in `state`.
   */
  state?: string | undefined;
}

/** A token as a store holds it. */
export interface StoredToken {
  token: string;
  /** Epoch ms when the login that produced it was sent. */
  issuedAt: number;
  /** Epoch ms after which the upstream no longer accepts it. */
  expiresAt: number;
  /** Store-wide, increasing: a newer login has a larger generation. */
  generation: number;
  /** The strategy's `LoginResult.state`, when it gave one. */
  state?: string;
}

/** The right to log in for one key, held by one instance at a time. */
export interface TokenLease {
  readonly key: string;
  /** The generation the token obtained under this lease will carry. */
  readonly generation: number;
  /** Identifies the holder, so only it can release the lease. */
  readonly id: string;
}

/**
 * A login failure shared by every sharer of a store until `until`, so that none of them
 * logs in meanwhile: a refusal (401 `E_INVALID_CREDENTIALS`, 404 `E_NO_ACTIVE_ORG`, a dead
 * refresh token `E_INVALID_GRANT`), or an
 * `E_LOGIN_FAILED` that is worth waiting out (an answer without a usable token, a
 * `Retry-After`). A store keeps the whole object; readers check its fields.
 */
export interface SharedFailure {
  code: 'E_INVALID_CREDENTIALS' | 'E_NO_ACTIVE_ORG' | 'E_INVALID_GRANT' | 'E_LOGIN_FAILED';
  /** Epoch ms when the cooldown ends. */
  until: number;
  /** The status of the login answer that failed, when there was one. */
  status?: number;
  /** Unusable login answers in a row so far: the next cooldown doubles from it. */
  failures?: number;
}

/**
 * Where tokens live between calls, and how instances that share one agree on who logs in.
 *
 * The token manager keeps a local copy and only talks to the store on a miss, an
 * expiry or a rejected token. `MemoryTokenStore` shares within one process;
 * `@tokenfetch/redis` shares across a fleet.
 */
export interface TokenStore {
  /** The stored token for `key`, if any. */
  get(key: string): Promise<StoredToken | undefined>;
  /**
   * Take the right to log in for `key`, or `undefined` while another holder has it. A lease
   * must expire by itself if its holder dies. Generations keep increasing, even across a
   * store that lost its data.
   */
  acquire(key: string): Promise<TokenLease | undefined>;
  /**
   * Store a token obtained under `lease` and give the lease up. The write is refused
   * (`false`) when the store already holds a newer generation.
   */
  commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>): Promise<boolean>;
  /** Give the lease up without a token; a login failure is shared with `failure`. */
  release(lease: TokenLease, failure?: SharedFailure): Promise<void>;
  /** Delete the stored token, but only while it is still `generation`. */
  invalidate(key: string, generation: number): Promise<void>;
  /** A shared login refusal that is still in its cooldown. */
  getFailure(key: string): Promise<SharedFailure | undefined>;
}

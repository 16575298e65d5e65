/**
 * Every default of tokenfetch, in one place: the options schema, the token engine, the
 * auth strategies and the stores read these; the READMEs quote them.
 */
export const defaults = Object.freeze({
  /** Per call: the answer's headers must arrive within this, and the body must not stall longer. */
  timeoutMs: 30_000,
  /** A login, retries included. */
  loginTimeoutMs: 10_000,
  /** Refresh this long before a token stops being used (capped at a third of its lifetime). */
  refreshAheadMs: 120_000,
  /** Answers that mean "this token is no longer good". */
  reauthStatuses: Object.freeze([401, 403]) as readonly number[],
  /** Retries of a login that failed with a network error, a timeout, 429 or 5xx. */
  loginRetries: 2,
  /** How long a 401/404 login refusal is remembered; the longest cooldown of unusable answers. */
  loginCooldownMs: 30_000,
  /** The longest a session token is trusted: the upstream's 15 minutes. */
  ttlMs: 900_000,
  /** The upstream's session login. */
  loginPath: '/user/authenticate',
  /** The header an API key goes in. */
  apiKeyHeader: 'x-api-key',
  /** A `Request` body up to this size is kept in memory, so it can be replayed after a re-login. */
  replayBufferBytes: 1024 * 1024,
  /** How long a store's login lock lives if its holder dies. */
  lockTtlMs: 30_000,
} as const);

/**
 * Marks a dispatcher tokenfetch made itself (the proxy of `loadOptionsFromEnv`): `timeoutMs`
 * bounds its calls as it bounds the client's own Agent's, where a caller's own dispatcher
 * keeps its own timeouts unless `timeoutMs` is given.
 */
export const timeoutMsApplies: unique symbol = Symbol.for('tokenfetch.timeoutMsApplies');

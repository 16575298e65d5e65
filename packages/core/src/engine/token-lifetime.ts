import { LoginFailedError } from '../shared/errors.js';
import { jwtExpiry } from './jwt.js';
import type { LoginResult, StoredToken } from './token-store.js';

/** A token as the engine holds it: its times worked out once, when it is taken. */
export interface Held {
  token: string;
  expiresAt: number;
  /** The token is not sent after this (it is too close to its expiry). */
  useUntil: number;
  /** From here on, one background refresh runs. */
  refreshAt: number;
  generation: number;
  /** The strategy's state kept with the token (`LoginResult.state`). */
  state: string | undefined;
}

/** A token a login produced, before a store numbers it. */
export type Obtained = Omit<StoredToken, 'generation'>;

const safeToken = /^[\x21-\x7E]+$/;

/**
 * The engine's view of a stored token: sent until its last usable moment, refreshed in the
 * background from `refreshAheadMs` (at most a third of its lifetime) before that, less this
 * instance's `jitter` (a fraction of the window, so that instances sharing a store refresh
 * at slightly different moments).
 */
export function holdToken(stored: StoredToken, refreshAheadMs: number, jitter: number): Held {
  const lifetime = stored.expiresAt - stored.issuedAt;
  const useUntil = lastUsableMoment(stored.issuedAt, stored.expiresAt);
  const window = Math.min(refreshAheadMs, lifetime / 3) * (1 - jitter);
  return {
    token: stored.token,
    expiresAt: stored.expiresAt,
    useUntil,
    refreshAt: useUntil - window,
    generation: stored.generation,
    state: stored.state,
  };
}

/**
 * The last moment a token is sent: 1 s before its expiry, or a quarter of its lifetime
 * before it for a token that lives less than 4 s.
 */
export function lastUsableMoment(issuedAt: number, expiresAt: number): number {
  return expiresAt - Math.min(1_000, (expiresAt - issuedAt) / 4);
}

/**
 * A login's result as a token the engine can hold, or a `LoginFailedError` (not retried)
 * when the answer is unusable in itself: no printable token, or one that had expired
 * before the login was even sent (by the upstream's own `expiresAt` or a JWT's `exp`). Its
 * expiry is the smallest of `ttlMs` from when the login was sent, the lifetime or expiry
 * the answer announced, and a JWT's `exp`.
 *
 * A token that is merely late (its answer came in after its last usable moment, because
 * this process was too slow to read it) is accepted: the calls already waiting for it use
 * it, and the next call logs in again. It is not a failure, and nothing is remembered.
 */
export function acceptLogin(result: LoginResult, sentAt: number, ttlMs: number): Obtained {
  const token = result?.token;
  if (typeof token !== 'string' || !safeToken.test(token)) {
    throw new LoginFailedError(
      'login answered a token that is not a printable ASCII string without spaces',
    );
  }
  const candidates = [sentAt + ttlMs];
  if (isPositive(result.expiresInMs)) candidates.push(sentAt + result.expiresInMs);
  if (isPositive(result.expiresAt)) candidates.push(result.expiresAt);
  const exp = jwtExpiry(token);
  if (exp !== undefined) candidates.push(exp);
  const expiresAt = Math.min(...candidates);
  if (expiresAt <= sentAt) {
    throw new LoginFailedError('login answered a token that had already expired');
  }
  const { state } = result;
  return typeof state === 'string'
    ? { token, issuedAt: sentAt, expiresAt, state }
    : { token, issuedAt: sentAt, expiresAt };
}

function isPositive(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

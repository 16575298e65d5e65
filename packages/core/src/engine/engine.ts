import type { AbortGroup, KeepAlive } from '../shared/abort.js';
import { LoginFailedError, TokenFetchError } from '../shared/errors.js';
import type { TokenFetchEvent } from '../shared/events.js';
import type { Cooldown } from './cooldown.js';
import type { Held } from './token-lifetime.js';
import type { LoginResult, TokenStore } from './token-store.js';

/**
 * What the parts of one token engine share, made once by `createTokenManager`: its
 * settings, its collaborators and its state. The parts are functions of it (`login-attempts`,
 * `store-protocol`), so that nothing is allocated per call to reach them.
 */
export interface Engine {
  readonly login: (context: LoginAttemptContext) => Promise<LoginResult>;
  readonly ttlMs: number;
  readonly refreshAheadMs: number;
  readonly loginTimeoutMs: number;
  readonly loginRetries: number;
  /** This instance's share of the refresh window it gives up, in [0, 0.1). */
  readonly jitter: number;
  readonly store: TokenStore;
  /** The key of these credentials in the store, worked out at the first use (it may be slow). */
  readonly key: () => Promise<string>;
  readonly cooldown: Cooldown;
  readonly emit: (event: TokenFetchEvent) => void;
  readonly now: () => number;
  readonly random: () => number;
  /**
   * Aborted by `close()`: ends every wait and login of the engine. Plain JavaScript, not an
   * AbortController: on workerd an AbortSignal belongs to the request that made it (none
   * may be made at global scope, where an app makes its middleware), and the engine serves
   * every request of the isolate.
   */
  readonly life: AbortGroup;
  /** The token calls are sent with, while it lasts. */
  current: Held | undefined;
  /**
   * The newest strategy state seen (`LoginResult.state`: a rotated refresh token), from a
   * login of this instance or a token read from the store, and its generation. Kept when
   * the token itself is dropped: the next login needs it.
   */
  state: { value: string; generation: number } | undefined;
  /**
   * Whether the login's state must outlive its token (a rotating refresh token): it is
   * also kept under a key of its own (`durableStateKey`) for `durableStateMs`, read before
   * each login under the lock.
   */
  readonly durableState: boolean;
  /** This instance's newest state could not be written to the durable key: it stays ahead. */
  stateUnshared: boolean;
  /** Stored tokens of this generation or older were rejected by the upstream. */
  rejectedGeneration: number;
  closed: boolean;
}

/** What one login attempt gets from the engine. */
export interface LoginAttemptContext {
  signal: AbortSignal;
  /** The newest state the strategy kept with a token (its own, or a sharer's through the store). */
  state: string | undefined;
}

/**
 * Remembers the strategy state that came with a token: one this instance's login got
 * (`own`: it consumed the one before) or a stored one newer than any seen.
 */
export function noteState(
  engine: Engine,
  value: string | undefined,
  generation: number,
  own: boolean,
): void {
  if (value === undefined) return;
  const seen = engine.state;
  if (own || seen === undefined || generation > seen.generation) {
    engine.state = { value, generation: Math.max(generation, seen?.generation ?? 0) };
  }
}

/** How long a durable state is kept after it was written: a day (the Cloudflare store's most). */
export const durableStateMs = 86_400_000;

/** The store key of the durable state of the credentials stored under `key`. */
export function durableStateKey(key: string): string {
  return `${key}:state`;
}

/** One run of the engine to obtain a token: a login, or a read of the store. */
export interface Attempt {
  /** Epoch ms when it began, for its events. */
  readonly startedAt: number;
  /** A background refresh, which no caller awaits (yet). */
  readonly background: boolean;
  /** Whether its waits hold the process open: once anyone awaits it. */
  readonly alive: KeepAlive;
}

/** Any failure as a tokenfetch error; unknown errors are treated like network errors. */
export function asTokenFetchError(error: unknown): TokenFetchError {
  if (error instanceof TokenFetchError) return error;
  return new LoginFailedError('login failed: the login request did not complete', {
    cause: error,
    retryable: true,
  });
}

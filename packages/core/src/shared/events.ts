import type { TokenFetchErrorCode } from './errors.js';

/**
 * Which client an event comes from. `createApiClient` sets both on every event it reports;
 * a token manager made with `createTokenManager` on its own sets neither.
 */
export interface EventOrigin {
  /** The base URL's host name (`URL.hostname`), e.g. `acme.resolver.com`. */
  serverAddress?: string;
  /**
   * Tells clients apart, e.g. for a per-client gauge: 16 hex digits of a hash of base URL,
   * email and org (the store key's), so the same on every instance and after a restart.
   */
  clientId?: string;
}

/** A token was obtained: by logging in, or read from a shared store. */
export interface LoginEvent extends EventOrigin {
  type: 'login';
  source: 'login' | 'store';
  /** Epoch ms when this login began (before its first attempt, or its wait on the store). */
  startedAt: number;
  /** From `startedAt` to the token: retries, backoff and waits on the store included. */
  durationMs: number;
  expiresAt: number;
  /** Whether this was a background refresh that no caller waits on. */
  background: boolean;
}

/** A login attempt failed in a way that is retried; the next attempt follows after `delayMs`. */
export interface LoginRetryEvent extends EventOrigin {
  type: 'login_retry';
  /** The attempt that failed: 1 for the first. */
  attempt: number;
  code: TokenFetchErrorCode;
  /** The login answer's status (429, 5xx); absent after a network error or a timeout. */
  status?: number;
  delayMs: number;
  /** The `startedAt` of the login this attempt belongs to. */
  startedAt: number;
  background: boolean;
}

/** A login (or a shared failure read from the store) failed. */
export interface LoginFailedEvent extends EventOrigin {
  type: 'login_failed';
  code: TokenFetchErrorCode;
  /** The login answer's status (401, 404, 429, 5xx); absent after a network error or a timeout. */
  status?: number;
  /** Epoch ms when this login began. */
  startedAt: number;
  /** From `startedAt` to the failure, retries included. */
  durationMs: number;
  /** Whether this failure was in a background refresh that no caller waits on. */
  background: boolean;
}

/** The current token entered its refresh window; one background refresh started. */
export interface RefreshAheadEvent extends EventOrigin {
  type: 'refresh_ahead';
  expiresAt: number;
}

/**
 * A call was answered with one of `reauthStatuses`; the token was dropped and the call
 * replayed. Reported synchronously inside the call, so the caller's context (e.g. its
 * active trace span) is the current one.
 */
export interface ReauthEvent extends EventOrigin {
  type: 'reauth';
  status: number;
  /** False when the body was a stream: the first answer went back to the caller. */
  replayed: boolean;
}

/** The token store failed or was too slow; tokenfetch went on without it. */
export interface StoreErrorEvent extends EventOrigin {
  type: 'store_error';
  operation: 'get' | 'acquire' | 'commit' | 'release' | 'invalidate' | 'failure' | 'lock_wait';
  message: string;
}

/**
 * A client with a token was closed: by `close()`, or by the pool (or `as()`) that dropped
 * it, once its calls were done. It reports nothing more: a listener keeping something per
 * client (a gauge's series) lets it go.
 */
export interface CloseEvent extends EventOrigin {
  type: 'close';
}

/** What `onEvent` receives: plain objects, never a secret. */
export type TokenFetchEvent =
  | LoginEvent
  | LoginRetryEvent
  | LoginFailedEvent
  | RefreshAheadEvent
  | ReauthEvent
  | StoreErrorEvent
  | CloseEvent;

/**
 * Tells client objects apart where `clientId` cannot: two clients of the same credentials
 * in one process (a pool's tenant dropped and made again) share a `clientId`. Each event of
 * a client made by `createApiClient` carries a number here (not enumerable: it is for
 * listeners of tokenfetch's own packages, such as `@tokenfetch/opentelemetry`).
 */
export const clientInstance: unique symbol = Symbol.for('tokenfetch.clientInstance') as never;

/**
 * A listener of `onEvent`. What it returns is ignored; it may be async (a rejection is
 * ignored like a throw).
 */
export type TokenFetchListener = (event: TokenFetchEvent) => unknown;

/**
 * Calls the user's listeners in turn; a listener that throws, or an async one that
 * rejects, never breaks a call nor keeps the others from the event.
 */
export function createEmitter(
  listeners: TokenFetchListener | readonly TokenFetchListener[] | undefined,
): (event: TokenFetchEvent) => void {
  if (listeners === undefined) return () => {};
  const all = typeof listeners === 'function' ? [listeners] : [...listeners];
  return (event) => {
    for (const listener of all) {
      try {
        const result = listener(event);
        // An async listener's rejection would otherwise be unhandled, and end the process.
        if (isThenable(result)) result.then(undefined, ignore);
      } catch {
        // A broken listener is the caller's bug; it must not fail a request.
      }
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function ignore(): void {}

import type { TokenFetchErrorCode } from './errors.js';

/** A token was obtained: by logging in, or read from a shared store. */
export interface LoginEvent {
  type: 'login';
  source: 'login' | 'store';
  durationMs: number;
  expiresAt: number;
}

/** A login (or a shared failure read from the store) failed. */
export interface LoginFailedEvent {
  type: 'login_failed';
  code: TokenFetchErrorCode;
  status?: number;
  /** Whether this failure was in a background refresh that no caller waits on. */
  background: boolean;
}

/** The current token entered its refresh window; one background refresh started. */
export interface RefreshAheadEvent {
  type: 'refresh_ahead';
  expiresAt: number;
}

/** A call was answered with one of `reauthStatuses`; the token was dropped and the call replayed. */
export interface ReauthEvent {
  type: 'reauth';
  status: number;
  /** False when the body was a stream: the first answer went back to the caller. */
  replayed: boolean;
}

/** The token store failed or was too slow; tokenfetch went on without it. */
export interface StoreErrorEvent {
  type: 'store_error';
  operation: 'get' | 'acquire' | 'commit' | 'release' | 'invalidate' | 'failure' | 'lock_wait';
  message: string;
}

/** What `onEvent` receives: plain objects, never a secret. */
export type TokenFetchEvent =
  LoginEvent | LoginFailedEvent | RefreshAheadEvent | ReauthEvent | StoreErrorEvent;

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

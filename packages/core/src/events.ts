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

/** Calls the user's listener; a listener that throws never breaks a call. */
export function createEmitter(
  listener: ((event: TokenFetchEvent) => void) | undefined,
): (event: TokenFetchEvent) => void {
  if (listener === undefined) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch {
      // A broken listener is the caller's bug; it must not fail a request.
    }
  };
}

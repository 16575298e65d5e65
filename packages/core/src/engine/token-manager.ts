/**
 * The engine: everything about getting, keeping and sharing a token, and nothing about
 * HTTP calls. `createTokenManager` (this file) holds the token and decides when to log in:
 * single-flight, refresh-ahead, invalidation, close. Its parts, each a function of the
 * shared `Engine` state (engine.ts): `token-lifetime.ts` (when a token is used and
 * refreshed), `login-attempts.ts` (one login with its retries and timeout), `cooldown.ts`
 * (what a failed login leaves behind), `store-protocol.ts` (one login for every sharer of
 * a store: lock, generations, shared failures). The stores (`token-store.ts`, the interface;
 * `memory-store.ts`) and the login answer's reader (`parse-login-response.ts`) live here
 * too. The engine imports nothing from the auth strategies or the client above it.
 */
import { backgroundWorkSurvives, keepAlive, workBelongsToRequest } from '#platform';
import { AbortGroup, detach, KeepAlive, type AbortLike } from '../shared/abort.js';
import { defaults } from '../shared/defaults.js';
import { ClientClosedError, LoginFailedError, LoginNotFoundError } from '../shared/errors.js';
import { createEmitter, type TokenFetchListener } from '../shared/events.js';
import { Cooldown, isRefusal } from './cooldown.js';
import { asTokenFetchError, type Engine, type LoginAttemptContext } from './engine.js';
import { MemoryTokenStore } from './memory-store.js';
import { storeCall, obtainThroughStore } from './store-protocol.js';
import type { Held } from './token-lifetime.js';
import type { LoginResult, TokenStore } from './token-store.js';

/** Options of the token engine on its own. */
export interface TokenManagerOptions {
  /**
   * Performs one login attempt. Throw a `TokenFetchError` to say whether it may be retried.
   * `context.state` is the newest `LoginResult.state` seen (this instance's or, through the
   * store, a sharer's).
   */
  login: (context: LoginAttemptContext) => Promise<LoginResult>;
  /**
   * The longest a token is trusted, from when its login was sent.
   * @default 900_000 (15 minutes)
   */
  ttlMs?: number;
  /**
   * Start one background refresh this long before a token stops being used; capped at a
   * third of the token's lifetime.
   * @default 120_000
   */
  refreshAheadMs?: number;
  /**
   * The whole login, retries included, ends after this long.
   * @default 10_000
   */
  loginTimeoutMs?: number;
  /**
   * Retries of a login that failed with a network error, a timeout, 429 or 5xx.
   * @default 2
   */
  loginRetries?: number;
  /**
   * How long a 401/404 login refusal is remembered, so a burst cannot lock the account. A
   * 2xx answer without a usable token is remembered for 1 s, doubling with each one in a
   * row up to this.
   * @default 30_000
   */
  loginCooldownMs?: number;
  /**
   * The login's `state` must outlive its token (an OAuth rotating refresh token): it is also
   * kept in the store under a key of its own for a day, and handed to the next login of any
   * sharer even when no token is stored any more.
   * @default false
   */
  durableState?: boolean;
  /** Where tokens are shared. @default a new `MemoryTokenStore` */
  store?: TokenStore;
  /**
   * The key of this set of credentials in the store, or a function that works it out (once,
   * at the first login: a slow derivation is fine). @default 'default'
   */
  key?: string | (() => Promise<string>);
  /**
   * Receives `login`, `login_retry`, `login_failed`, `refresh_ahead` and `store_error`
   * events: one listener, or several.
   */
  onEvent?: TokenFetchListener | readonly TokenFetchListener[] | undefined;
  /** The clock. @default Date.now */
  now?: () => number;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
}

/** The token engine: single-flight login, refresh-ahead, invalidation, cooldown. */
export interface TokenManager {
  /** A token that is good to send now; logs in (once, for all callers) when needed. */
  getToken(options?: { signal?: AbortLike | undefined }): Promise<string>;
  /**
   * The current token if it may be sent now, without waiting (starting the background
   * refresh in its window), else `undefined`: then call `getToken`.
   */
  peekToken(): string | undefined;
  /** Like `getToken`, with the time the token expires. */
  getTokenInfo(options?: {
    signal?: AbortLike | undefined;
  }): Promise<{ token: string; expiresAt: number }>;
  /**
   * Drops `token` if it is still the current one (the upstream rejected it) and says
   * whether it did. A token already replaced is left alone, so stale failures cause no login.
   */
  invalidate(token: string): boolean;
  /** Ends all background work; later calls reject with `ClientClosedError`. */
  close(): void;
}

const backgroundRetryMs = 2_000;
/** How long past `loginTimeoutMs` a login in flight is waited for before it is left behind. */
const staleMs = 5_000;

/** Creates the token engine on its own, for custom login flows. */
export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const engine: Engine = {
    login: options.login,
    ttlMs: options.ttlMs ?? defaults.ttlMs,
    refreshAheadMs: options.refreshAheadMs ?? defaults.refreshAheadMs,
    loginTimeoutMs: options.loginTimeoutMs ?? defaults.loginTimeoutMs,
    loginRetries: options.loginRetries ?? defaults.loginRetries,
    // Instances sharing a store refresh at slightly different moments.
    jitter: random() * 0.1,
    store: options.store ?? new MemoryTokenStore({ now }),
    key: once(options.key ?? 'default'),
    cooldown: new Cooldown(options.loginCooldownMs ?? defaults.loginCooldownMs, now),
    emit: createEmitter(options.onEvent),
    now,
    random,
    life: new AbortGroup(),
    current: undefined,
    state: undefined,
    durableState: options.durableState === true,
    stateUnshared: false,
    rejectedGeneration: 0,
    closed: false,
  };
  const { cooldown, emit } = engine;

  // The login (or store read) in flight, when it began, and whether it holds the process
  // open: once anyone awaits it.
  let inflight: Promise<Held> | undefined;
  let inflightStartedAt = 0;
  let inflightAlive: KeepAlive | undefined;
  let nextBackgroundAt = 0;

  /**
   * The current token when it may be sent now; starts a background refresh in its window
   * (where the runtime lets one outlive the call that starts it: else the token is renewed
   * when a call needs it, past its last usable moment).
   */
  function usable(): Held | undefined {
    const held = engine.current;
    if (held === undefined) return undefined;
    const t = now();
    if (t >= held.useUntil) return undefined;
    if (
      backgroundWorkSurvives &&
      t >= held.refreshAt &&
      inflight === undefined &&
      t >= nextBackgroundAt
    ) {
      refreshInBackground(held);
    }
    return held;
  }

  function getHeld(signal: AbortLike | undefined): Promise<Held> {
    if (engine.closed) return Promise.reject(new ClientClosedError());
    const held = usable();
    if (held !== undefined) return Promise.resolve(held);
    // A caller that has already given up starts no login.
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return detach(obtain(false), signal);
  }

  function refreshInBackground(held: Held): void {
    if (cooldown.active) return;
    emit({ type: 'refresh_ahead', expiresAt: held.expiresAt });
    // Whatever the outcome (a new token, another instance holding the login lock, a
    // failure), the next attempt waits: calls in the window must not each poll the store.
    nextBackgroundAt = now() + backgroundRetryMs;
    obtain(true).catch(() => {
      // Reported as a login_failed event; the current token stays in use.
    });
  }

  /**
   * The single flight: one login (or store read) at a time, which every caller joins. On a
   * runtime where work belongs to a request (Workers), one that has run past its own timeout
   * and a margin without settling is left behind: it died with the request that started
   * it, and a later caller starts again rather than wait on it for ever. (Elsewhere a
   * login's own timeout always ends it.)
   */
  function obtain(background: boolean): Promise<Held> {
    if (
      workBelongsToRequest &&
      inflight !== undefined &&
      now() - inflightStartedAt > engine.loginTimeoutMs + staleMs
    ) {
      inflight = undefined;
    }
    if (inflight !== undefined) {
      // A caller joining a background refresh (its token past its last usable moment)
      // awaits it now: its backoff must not let a script exit mid-await.
      if (!background) inflightAlive?.want();
      return inflight;
    }
    if (cooldown.active) return Promise.reject(cooldown.error());
    const attempt = { startedAt: now(), background, alive: new KeepAlive(!background) };
    inflightAlive = attempt.alive;
    const promise = obtainThroughStore(engine, attempt).then(
      (held) => {
        if (engine.closed) throw new ClientClosedError();
        // One left behind (stale) does not replace what a later one got.
        if (inflight === promise || engine.current === undefined) engine.current = held;
        return held;
      },
      (error: unknown) => {
        const failure = engine.closed ? new ClientClosedError() : asTokenFetchError(error);
        if (!engine.closed) {
          const status =
            isRefusal(failure) ||
            failure instanceof LoginFailedError ||
            failure instanceof LoginNotFoundError
              ? failure.status
              : undefined;
          emit({
            type: 'login_failed',
            code: failure.code,
            ...(status === undefined ? {} : { status }),
            startedAt: attempt.startedAt,
            durationMs: now() - attempt.startedAt,
            background,
          });
        }
        throw failure;
      },
    );
    inflight = promise;
    inflightStartedAt = attempt.startedAt;
    const clear = () => {
      if (inflight === promise) inflight = undefined;
    };
    promise.then(clear, clear);
    // On Workers a login belongs to the request that starts it: that request is kept alive
    // until it settles, or it would be cancelled with that request (and its joiners with it).
    keepAlive(promise.catch(() => {}));
    return promise;
  }

  const manager: TokenManager = {
    getToken(opts) {
      if (!engine.closed) {
        const held = usable();
        if (held !== undefined) return Promise.resolve(held.token);
      }
      return getHeld(opts?.signal).then((held) => held.token);
    },
    peekToken() {
      return engine.closed ? undefined : usable()?.token;
    },
    getTokenInfo(opts) {
      return getHeld(opts?.signal).then((held) => ({
        token: held.token,
        expiresAt: held.expiresAt,
      }));
    },
    invalidate(token) {
      const held = engine.current;
      if (held === undefined || held.token !== token) return false;
      engine.current = undefined;
      if (held.generation > engine.rejectedGeneration) engine.rejectedGeneration = held.generation;
      if (held.generation > 0) {
        const { store } = engine;
        // Nobody awaits it: on Workers its request is kept alive until it is done.
        keepAlive(
          storeCall(
            engine,
            'invalidate',
            async () => store.invalidate(await engine.key(), held.generation),
            held.token,
          ),
        );
      }
      return true;
    },
    close() {
      if (engine.closed) return;
      engine.closed = true;
      engine.current = undefined;
      engine.life.abort(new ClientClosedError());
    },
  };

  return manager;
}

/** The store key, worked out at the first use and kept; a failure is not kept. */
function once(key: string | (() => Promise<string>)): () => Promise<string> {
  let pending: Promise<string> | undefined;
  const work = typeof key === 'string' ? () => Promise.resolve(key) : key;
  return () =>
    (pending ??= work().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

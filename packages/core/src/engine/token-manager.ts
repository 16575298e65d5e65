import { detach, KeepAlive, sleep, unrefTimer, type AbortLike } from '../shared/abort.js';
import { defaults } from '../shared/defaults.js';
import {
  ClientClosedError,
  InvalidCredentialsError,
  LoginFailedError,
  NoActiveOrgError,
  TokenFetchError,
} from '../shared/errors.js';
import { createEmitter, type StoreErrorEvent, type TokenFetchListener } from '../shared/events.js';
import { jwtExpiry } from './jwt.js';
import { MemoryTokenStore } from './memory-store.js';
import { scrubSecrets } from '../guards/redact.js';
import type {
  LoginResult,
  SharedFailure,
  StoredToken,
  TokenLease,
  TokenStore,
} from './token-store.js';

/** Options of the token engine on its own. */
export interface TokenManagerOptions {
  /** Performs one login attempt. Throw a `TokenFetchError` to say whether it may be retried. */
  login: (context: { signal: AbortSignal }) => Promise<LoginResult>;
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
  /** Where tokens are shared. @default a new `MemoryTokenStore` */
  store?: TokenStore;
  /** The key of this set of credentials in the store. @default 'default' */
  key?: string;
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

interface Held {
  token: string;
  expiresAt: number;
  /** The token is not sent after this (it is too close to its expiry). */
  useUntil: number;
  /** From here on, one background refresh runs. */
  refreshAt: number;
  generation: number;
}

const storeDown: unique symbol = Symbol('store down');
const safeToken = /^[\x21-\x7E]+$/;
const backoffBaseMs = 200;
const retryAfterCapMs = 5_000;
/** The longest `Retry-After` obeyed across logins: a login is tried again after this at most. */
const retryAfterMaxMs = 300_000;
/** The first cooldown after an unusable login answer; it doubles with each one in a row. */
const unusableCooldownMs = 1_000;
const backgroundRetryMs = 2_000;
const lockWaitMarginMs = 2_000;

/** Creates the token engine on its own, for custom login flows. */
export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const ttlMs = options.ttlMs ?? defaults.ttlMs;
  const refreshAheadMs = options.refreshAheadMs ?? defaults.refreshAheadMs;
  const loginTimeoutMs = options.loginTimeoutMs ?? defaults.loginTimeoutMs;
  const loginRetries = options.loginRetries ?? defaults.loginRetries;
  const cooldownMs = options.loginCooldownMs ?? defaults.loginCooldownMs;
  const store = options.store ?? new MemoryTokenStore({ now });
  const key = options.key ?? 'default';
  const emit = createEmitter(options.onEvent);
  // Instances sharing a store refresh at slightly different moments.
  const jitter = random() * 0.1;
  const life = new AbortController();

  let current: Held | undefined;
  let inflight: Promise<Held> | undefined;
  // Whether the login in flight holds the process open: once anyone awaits it.
  let inflightAlive: KeepAlive | undefined;
  let rejectedGeneration = 0;
  // The login failure remembered until `until`: calls fail fast meanwhile.
  let refusal: { error: TokenFetchError; until: number } | undefined;
  // Unusable login answers in a row: each doubles the next cooldown.
  let unusableInARow = 0;
  let nextBackgroundAt = 0;
  let closed = false;
  // When the login in flight began, for its events (one login is in flight at a time).
  let startedAt = 0;

  function hold(stored: StoredToken): Held {
    const lifetime = stored.expiresAt - stored.issuedAt;
    const useUntil = lastUsableMoment(stored.issuedAt, stored.expiresAt);
    const window = Math.min(refreshAheadMs, lifetime / 3) * (1 - jitter);
    return {
      token: stored.token,
      expiresAt: stored.expiresAt,
      useUntil,
      refreshAt: useUntil - window,
      generation: stored.generation,
    };
  }

  /** The current token when it may be sent now; starts a background refresh in its window. */
  function usable(): Held | undefined {
    const held = current;
    if (held === undefined) return undefined;
    const t = now();
    if (t >= held.useUntil) return undefined;
    if (t >= held.refreshAt && inflight === undefined && t >= nextBackgroundAt) {
      refreshInBackground(held);
    }
    return held;
  }

  function getHeld(signal: AbortLike | undefined): Promise<Held> {
    if (closed) return Promise.reject(new ClientClosedError());
    const held = usable();
    if (held !== undefined) return Promise.resolve(held);
    // A caller that has already given up starts no login.
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return detach(obtain(false), signal);
  }

  function refreshInBackground(held: Held): void {
    if (refusal !== undefined && now() < refusal.until) return;
    emit({ type: 'refresh_ahead', expiresAt: held.expiresAt });
    // Whatever the outcome (a new token, another instance holding the login lock, a
    // failure), the next attempt waits: calls in the window must not each poll the store.
    nextBackgroundAt = now() + backgroundRetryMs;
    obtain(true).catch(() => {
      // Reported as a login_failed event; the current token stays in use.
    });
  }

  function obtain(background: boolean): Promise<Held> {
    if (inflight !== undefined) {
      // A caller joining a background refresh (its token past its last usable moment)
      // awaits it now: its backoff must not let a script exit mid-await.
      if (!background) inflightAlive?.want();
      return inflight;
    }
    if (refusal !== undefined && now() < refusal.until) return Promise.reject(refused(refusal));
    startedAt = now();
    const alive = new KeepAlive(!background);
    inflightAlive = alive;
    const promise = run(background, alive).then(
      (held) => {
        if (closed) throw new ClientClosedError();
        current = held;
        return held;
      },
      (error: unknown) => {
        const failure = closed ? new ClientClosedError() : asTokenFetchError(error);
        if (!closed) {
          const status =
            isRefusal(failure) || failure instanceof LoginFailedError ? failure.status : undefined;
          emit({
            type: 'login_failed',
            code: failure.code,
            ...(status === undefined ? {} : { status }),
            startedAt,
            durationMs: now() - startedAt,
            background,
          });
        }
        throw failure;
      },
    );
    inflight = promise;
    const clear = () => {
      if (inflight === promise) inflight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  async function run(background: boolean, alive: KeepAlive): Promise<Held> {
    // A live holder's login ends within loginTimeoutMs; past that (plus a margin) it is
    // presumed dead, and this instance logs in on its own rather than let its calls wait
    // out the lock's TTL, which may be as long as the calls' own timeout.
    const waitUntil = now() + loginTimeoutMs + lockWaitMarginMs;
    for (;;) {
      if (closed) throw new ClientClosedError();
      const stored = await storeCall('get', () => store.get(key));
      if (stored === storeDown) return loginAlone(background, alive);
      const adopted = adopt(stored, background);
      if (adopted !== undefined) return adopted;

      const shared = await storeCall('failure', () => store.getFailure(key));
      if (shared !== storeDown && shared !== undefined && shared.until > now()) {
        throw adoptFailure(shared);
      }

      const lease = await storeCall('acquire', () => store.acquire(key));
      if (lease === storeDown) return loginAlone(background, alive);
      if (lease !== undefined) return loginUnderLease(lease, background, alive);

      // Another holder is logging in. A background refresh leaves it to them.
      const held = current;
      if (held !== undefined && now() < held.useUntil) return held;
      if (now() >= waitUntil) {
        reportStoreError('lock_wait', 'gave up waiting for another holder of the login lock');
        return loginAlone(background, alive);
      }
      await sleep(75 + random() * 50, life.signal, alive);
    }
  }

  /** A stored token this instance may take instead of logging in. */
  function adopt(stored: StoredToken | undefined, background: boolean): Held | undefined {
    if (stored === undefined || stored.generation <= rejectedGeneration) return undefined;
    if (current !== undefined && stored.generation <= current.generation && background) {
      return undefined;
    }
    const held = hold(stored);
    if (now() >= (background ? held.refreshAt : held.useUntil)) return undefined;
    emit({
      type: 'login',
      source: 'store',
      startedAt,
      durationMs: now() - startedAt,
      expiresAt: held.expiresAt,
      background,
    });
    return held;
  }

  async function loginUnderLease(
    lease: TokenLease,
    background: boolean,
    alive: KeepAlive,
  ): Promise<Held> {
    let obtained: Omit<StoredToken, 'generation'>;
    try {
      const again = await storeCall('get', () => store.get(lease.key));
      const adopted = again === storeDown ? undefined : adopt(again, background);
      if (adopted !== undefined) {
        await storeCall('release', () => store.release(lease));
        return adopted;
      }
      obtained = await loginWithRetries(background, alive);
    } catch (error) {
      const failure = noteFailure(error);
      await storeCall('release', () => store.release(lease, failure));
      throw error;
    }
    const committed = await storeCall(
      'commit',
      () => store.commit(lease, obtained),
      obtained.token,
    );
    // A failed write must not leave the lock to its TTL: the others would wait it out.
    if (committed === storeDown) await storeCall('release', () => store.release(lease));
    return hold({ ...obtained, generation: lease.generation });
  }

  /** Logs in without the store (it is down, or its lock is stuck). */
  async function loginAlone(background: boolean, alive: KeepAlive): Promise<Held> {
    let obtained: Omit<StoredToken, 'generation'>;
    try {
      obtained = await loginWithRetries(background, alive);
    } catch (error) {
      noteFailure(error);
      throw error;
    }
    return hold({ ...obtained, generation: 0 });
  }

  /**
   * Logs in, retrying what may be retried, within `loginTimeoutMs`. The backoff timers of
   * a login that callers wait on keep the process alive (a script awaiting its first call
   * must not exit mid-backoff); those of a background refresh do not, until a caller joins
   * it (`alive`).
   */
  async function loginWithRetries(
    background: boolean,
    alive: KeepAlive,
  ): Promise<Omit<StoredToken, 'generation'>> {
    const budget = new AbortController();
    const deadline = now() + loginTimeoutMs;
    const onClose = () => budget.abort(new ClientClosedError());
    life.signal.addEventListener('abort', onClose, { once: true });
    const timer = setTimeout(
      () =>
        budget.abort(
          new LoginFailedError(`login timed out after ${loginTimeoutMs} ms`, {
            retryable: true,
          }),
        ),
      loginTimeoutMs,
    );
    unrefTimer(timer);
    try {
      for (let attempt = 0; ; attempt++) {
        const sentAt = now();
        try {
          const result = await detach(options.login({ signal: budget.signal }), budget.signal);
          const obtained = accept(result, sentAt);
          unusableInARow = 0;
          emit({
            type: 'login',
            source: 'login',
            startedAt,
            durationMs: now() - startedAt,
            expiresAt: obtained.expiresAt,
            background,
          });
          return obtained;
        } catch (error) {
          if (closed) throw new ClientClosedError();
          const failure = budget.signal.aborted
            ? asTokenFetchError(budget.signal.reason)
            : asTokenFetchError(error);
          if (!(failure instanceof LoginFailedError) || !failure.retryable) throw failure;
          if (attempt >= loginRetries || budget.signal.aborted) throw failure;
          // A longer wait is obeyed across logins (remembered), not inside this one.
          if ((failure.retryAfterMs ?? 0) > retryAfterCapMs) throw failure;
          const backoff = random() * backoffBaseMs * 2 ** attempt;
          const delay = Math.max(backoff, Math.min(failure.retryAfterMs ?? 0, retryAfterCapMs));
          if (now() + delay >= deadline) throw failure;
          emit({
            type: 'login_retry',
            attempt: attempt + 1,
            code: failure.code,
            ...(failure.status === undefined ? {} : { status: failure.status }),
            delayMs: delay,
            startedAt,
            background,
          });
          await sleep(delay, budget.signal, alive).catch(() => {
            throw closed ? new ClientClosedError() : asTokenFetchError(budget.signal.reason);
          });
        }
      }
    } finally {
      clearTimeout(timer);
      life.signal.removeEventListener('abort', onClose);
    }
  }

  function accept(result: LoginResult, sentAt: number): Omit<StoredToken, 'generation'> {
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
    // Judged like a held token: one inside its last second (or quarter of life) is not sent.
    if (expiresAt <= now() || now() >= lastUsableMoment(sentAt, expiresAt)) {
      throw new LoginFailedError('login answered a token that has expired or is about to');
    }
    return { token, issuedAt: sentAt, expiresAt };
  }

  /**
   * Remembers the failure of a login this instance made, if it is one that is remembered,
   * and returns what to share with the store:
   * - a 401/404 refusal, for `loginCooldownMs`;
   * - a failure whose answer said `Retry-After` (429, 503), until that has passed;
   * - an answer without a usable token (or another status that is not retried), for 1 s,
   *   doubling with each one in a row up to `loginCooldownMs`.
   * Network errors, timeouts and 5xx without `Retry-After` are not remembered.
   */
  function noteFailure(error: unknown): SharedFailure | undefined {
    if (closed) return undefined;
    const failure = asTokenFetchError(error);
    let shared: SharedFailure | undefined;
    if (isRefusal(failure)) {
      shared = { code: failure.code, until: now() + cooldownMs };
    } else if (failure instanceof LoginFailedError) {
      const status = failure.status === undefined ? {} : { status: failure.status };
      const retryAfterMs = Math.min(failure.retryAfterMs ?? 0, retryAfterMaxMs);
      if (failure.retryable && retryAfterMs > 0) {
        shared = {
          code: 'E_LOGIN_FAILED',
          until: now() + retryAfterMs,
          ...status,
        };
      } else if (!failure.retryable) {
        unusableInARow++;
        const wait = Math.min(unusableCooldownMs * 2 ** (unusableInARow - 1), cooldownMs);
        shared = {
          code: 'E_LOGIN_FAILED',
          until: now() + wait,
          failures: unusableInARow,
          ...status,
        };
      }
    }
    if (shared !== undefined) refusal = { error: failure, until: shared.until };
    return shared;
  }

  /** A failure another sharer of the store remembered: this instance remembers it too. */
  function adoptFailure(stored: SharedFailure): TokenFetchError {
    const shared = checkedFailure(stored);
    if (shared.failures !== undefined) unusableInARow = Math.max(unusableInARow, shared.failures);
    const error =
      shared.code === 'E_INVALID_CREDENTIALS'
        ? new InvalidCredentialsError()
        : shared.code === 'E_NO_ACTIVE_ORG'
          ? new NoActiveOrgError()
          : new LoginFailedError(describeFailure(shared.status), withStatus(shared.status));
    refusal = { error, until: shared.until };
    return refused(refusal);
  }

  /**
   * The error a call gets while a failure is remembered: the refusal itself for 401/404
   * (every caller gets the same error), else a `LoginFailedError` saying when the next
   * login will be tried (`retryAfterMs`).
   */
  function refused(remembered: { error: TokenFetchError; until: number }): TokenFetchError {
    const { error, until } = remembered;
    if (isRefusal(error)) return error;
    const retryAfterMs = Math.max(0, until - now());
    const status = error instanceof LoginFailedError ? error.status : undefined;
    return new LoginFailedError(
      `${error.message}; no login is tried before it has passed: retry after ${Math.ceil(retryAfterMs / 1000)} s`,
      { ...withStatus(status), retryAfterMs, cause: error },
    );
  }

  async function storeCall<T>(
    operation: StoreErrorEvent['operation'],
    call: () => Promise<T>,
    token?: string,
  ): Promise<T | typeof storeDown> {
    try {
      return await call();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A store's error may quote what it was given: no token goes on into an event.
      reportStoreError(operation, scrubSecrets(message, [token, current?.token]));
      return storeDown;
    }
  }

  function reportStoreError(operation: StoreErrorEvent['operation'], message: string): void {
    emit({ type: 'store_error', operation, message: message.slice(0, 200) });
  }

  const manager: TokenManager = {
    getToken(opts) {
      if (!closed) {
        const held = usable();
        if (held !== undefined) return Promise.resolve(held.token);
      }
      return getHeld(opts?.signal).then((held) => held.token);
    },
    peekToken() {
      return closed ? undefined : usable()?.token;
    },
    getTokenInfo(opts) {
      return getHeld(opts?.signal).then((held) => ({
        token: held.token,
        expiresAt: held.expiresAt,
      }));
    },
    invalidate(token) {
      const held = current;
      if (held === undefined || held.token !== token) return false;
      current = undefined;
      if (held.generation > rejectedGeneration) rejectedGeneration = held.generation;
      if (held.generation > 0) {
        void storeCall('invalidate', () => store.invalidate(key, held.generation), held.token);
      }
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      current = undefined;
      life.abort(new ClientClosedError());
    },
  };

  return manager;
}

/**
 * The last moment a token is sent: 1 s before its expiry, or a quarter of its lifetime
 * before it for a token that lives less than 4 s.
 */
function lastUsableMoment(issuedAt: number, expiresAt: number): number {
  return expiresAt - Math.min(1_000, (expiresAt - issuedAt) / 4);
}

/** A shared failure as this version reads it: fields of a bad or foreign record are dropped. */
function checkedFailure(stored: SharedFailure): SharedFailure {
  const { code, until, status, failures } = stored;
  return {
    code,
    until,
    ...(Number.isInteger(status) && status! >= 100 && status! <= 599 ? { status } : {}),
    ...(Number.isInteger(failures) && failures! > 0 ? { failures: Math.min(failures!, 32) } : {}),
  };
}

function describeFailure(status: number | undefined): string {
  if (status === undefined) return 'a recent login gave no usable token';
  return status >= 200 && status < 300
    ? `a recent login answered ${status} without a usable token`
    : `a recent login answered ${status}`;
}

function withStatus(status: number | undefined): { status?: number } {
  return status === undefined ? {} : { status };
}

/** A 401/404 login refusal: never retried, remembered for the cooldown. */
function isRefusal(error: unknown): error is InvalidCredentialsError | NoActiveOrgError {
  return error instanceof InvalidCredentialsError || error instanceof NoActiveOrgError;
}

function isPositive(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** Any failure as a tokenfetch error; unknown errors are treated like network errors. */
function asTokenFetchError(error: unknown): TokenFetchError {
  if (error instanceof TokenFetchError) return error;
  return new LoginFailedError('login failed: the login request did not complete', {
    cause: error,
    retryable: true,
  });
}

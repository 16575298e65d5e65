import type { TokenFetchError } from '../shared/errors.js';
import {
  ConfigError,
  InvalidCredentialsError,
  InvalidGrantError,
  LoginFailedError,
  LoginNotFoundError,
  NoActiveOrgError,
} from '../shared/errors.js';
import type { SharedFailure } from './token-store.js';

/** The longest `Retry-After` obeyed across logins: a login is tried again after this at most. */
const retryAfterMaxMs = 300_000;
/** The first cooldown after an unusable login answer; it doubles with each one in a row. */
const unusableCooldownMs = 1_000;

/**
 * What the engine remembers of a failed login, so that calls fail fast instead of logging
 * in again meanwhile:
 * - a 401/404 refusal, a 404 that is not the upstream's (`LoginNotFoundError`) or a dead
 *   grant (`InvalidGrantError`), for `loginCooldownMs`;
 * - a `ConfigError` a login threw (the server refused a scope), for `loginCooldownMs`, in
 *   this instance only;
 * - a failure whose answer said `Retry-After` (429, 503), until that has passed;
 * - an answer without a usable token (or another status that is not retried), for 1 s,
 *   doubling with each one in a row up to `loginCooldownMs`.
 * Network errors, timeouts and 5xx without `Retry-After` are not remembered. A failure
 * remembered here is shared through the store, and one read from the store is adopted.
 */
export class Cooldown {
  readonly #cooldownMs: number;
  readonly #now: () => number;
  /** The failure remembered until `until`: calls fail fast meanwhile. */
  #refusal: { error: TokenFetchError; until: number } | undefined;
  /** Unusable login answers in a row: each doubles the next cooldown. */
  #unusableInARow = 0;

  constructor(cooldownMs: number, now: () => number) {
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  /** Whether a remembered failure still holds logins back. */
  get active(): boolean {
    return this.#refusal !== undefined && this.#now() < this.#refusal.until;
  }

  /**
   * The error a call gets while a failure is remembered: the refusal itself for 401/404/invalid_grant
   * (every caller gets the same error), else a `LoginFailedError` of its own saying when
   * the next login will be tried (`retryAfterMs`).
   */
  error(): TokenFetchError {
    const { error, until } = this.#refusal!;
    if (isRefusal(error) || error instanceof LoginNotFoundError || error instanceof ConfigError) {
      return error;
    }
    const retryAfterMs = Math.max(0, until - this.#now());
    const status = error instanceof LoginFailedError ? error.status : undefined;
    return new LoginFailedError(
      `${error.message}; no login is tried before it has passed: retry after ${Math.ceil(retryAfterMs / 1000)} s`,
      { ...withStatus(status), retryAfterMs, cause: error },
    );
  }

  /** A login gave a usable token: unusable answers no longer run in a row. */
  succeeded(): void {
    this.#unusableInARow = 0;
  }

  /**
   * Remembers the failure of a login this instance made, if it is one that is remembered,
   * and returns what to share with the store.
   */
  note(failure: TokenFetchError): SharedFailure | undefined {
    const now = this.#now();
    let shared: SharedFailure | undefined;
    if (failure instanceof LoginNotFoundError) {
      // A base URL with no login under it: remembered here, not shared (the store's
      // records know refusals and E_LOGIN_FAILED; every instance finds this out alone).
      this.#refusal = { error: failure, until: now + this.#cooldownMs };
      return undefined;
    }
    if (isRefusal(failure)) {
      shared = { code: failure.code, until: now + this.#cooldownMs };
    } else if (failure instanceof ConfigError) {
      // The login server refused the configuration (an OAuth `invalid_scope`): not
      // retried, and not tried again before the cooldown; not shared (another instance
      // may be configured otherwise).
      this.#refusal = { error: failure, until: now + this.#cooldownMs };
      return undefined;
    } else if (failure instanceof LoginFailedError) {
      const status = withStatus(failure.status);
      const retryAfterMs = Math.min(failure.retryAfterMs ?? 0, retryAfterMaxMs);
      if (failure.retryable && retryAfterMs > 0) {
        shared = { code: 'E_LOGIN_FAILED', until: now + retryAfterMs, ...status };
      } else if (!failure.retryable) {
        this.#unusableInARow++;
        const wait = Math.min(
          unusableCooldownMs * 2 ** (this.#unusableInARow - 1),
          this.#cooldownMs,
        );
        shared = {
          code: 'E_LOGIN_FAILED',
          until: now + wait,
          failures: this.#unusableInARow,
          ...status,
        };
      }
    }
    if (shared !== undefined) this.#refusal = { error: failure, until: shared.until };
    return shared;
  }

  /** A failure another sharer of the store remembered: this instance remembers it too. */
  adopt(stored: SharedFailure): TokenFetchError {
    const shared = checkedFailure(stored);
    if (shared.failures !== undefined) {
      this.#unusableInARow = Math.max(this.#unusableInARow, shared.failures);
    }
    const error =
      shared.code === 'E_INVALID_CREDENTIALS'
        ? new InvalidCredentialsError()
        : shared.code === 'E_NO_ACTIVE_ORG'
          ? new NoActiveOrgError()
          : shared.code === 'E_INVALID_GRANT'
            ? new InvalidGrantError()
            : new LoginFailedError(describeFailure(shared.status), withStatus(shared.status));
    this.#refusal = { error, until: shared.until };
    return this.error();
  }
}

/** A 401/404 login refusal or a dead grant: never retried, remembered for the cooldown. */
export function isRefusal(
  error: unknown,
): error is InvalidCredentialsError | NoActiveOrgError | InvalidGrantError {
  return (
    error instanceof InvalidCredentialsError ||
    error instanceof NoActiveOrgError ||
    error instanceof InvalidGrantError
  );
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

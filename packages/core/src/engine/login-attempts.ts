import { detach, sleep, unrefTimer } from '../shared/abort.js';
import { ClientClosedError, LoginFailedError } from '../shared/errors.js';
import { asTokenFetchError, type Attempt, type Engine } from './engine.js';
import { acceptLogin, type Obtained } from './token-lifetime.js';

const backoffBaseMs = 200;
/** A longer `Retry-After` is obeyed across logins (remembered), not inside one. */
const retryAfterCapMs = 5_000;

/**
 * Logs in, retrying what may be retried (network errors, timeouts, 408/429/5xx) with
 * jittered exponential backoff, all within `loginTimeoutMs`. The backoff timers of a login
 * that callers wait on keep the process alive (a script awaiting its first call must not
 * exit mid-backoff); those of a background refresh do not, until a caller joins it.
 */
export async function loginWithRetries(engine: Engine, attempt: Attempt): Promise<Obtained> {
  const { now, loginTimeoutMs } = engine;
  const budget = new AbortController();
  const deadline = now() + loginTimeoutMs;
  const onClose = () => budget.abort(new ClientClosedError());
  engine.life.addEventListener('abort', onClose);
  const timer = setTimeout(
    () =>
      budget.abort(
        new LoginFailedError(`login timed out after ${loginTimeoutMs} ms`, { retryable: true }),
      ),
    loginTimeoutMs,
  );
  unrefTimer(timer);
  try {
    for (let tries = 0; ; tries++) {
      const sentAt = now();
      try {
        const result = await detach(
          engine.login({ signal: budget.signal, state: engine.state?.value }),
          budget.signal,
        );
        const obtained = acceptLogin(result, sentAt, engine.ttlMs);
        engine.cooldown.succeeded();
        engine.emit({
          type: 'login',
          source: 'login',
          startedAt: attempt.startedAt,
          durationMs: now() - attempt.startedAt,
          expiresAt: obtained.expiresAt,
          background: attempt.background,
        });
        return obtained;
      } catch (error) {
        if (engine.closed) throw new ClientClosedError();
        const failure = asTokenFetchError(budget.signal.aborted ? budget.signal.reason : error);
        if (budget.signal.aborted) throw failure;
        const delay = retryDelay(engine, failure, tries, deadline);
        if (delay === undefined) throw failure;
        engine.emit({
          type: 'login_retry',
          attempt: tries + 1,
          code: failure.code,
          ...(failure instanceof LoginFailedError && failure.status !== undefined
            ? { status: failure.status }
            : {}),
          delayMs: delay,
          startedAt: attempt.startedAt,
          background: attempt.background,
        });
        await sleep(delay, budget.signal, attempt.alive).catch(() => {
          throw engine.closed ? new ClientClosedError() : asTokenFetchError(budget.signal.reason);
        });
      }
    }
  } finally {
    clearTimeout(timer);
    engine.life.removeEventListener('abort', onClose);
  }
}

/** How long to wait before the next try, or `undefined` when the failure is final. */
function retryDelay(
  engine: Engine,
  failure: unknown,
  tries: number,
  deadline: number,
): number | undefined {
  if (!(failure instanceof LoginFailedError) || !failure.retryable) return undefined;
  if (tries >= engine.loginRetries) return undefined;
  const retryAfterMs = failure.retryAfterMs ?? 0;
  if (retryAfterMs > retryAfterCapMs) return undefined;
  const backoff = engine.random() * backoffBaseMs * 2 ** tries;
  const delay = Math.max(backoff, retryAfterMs);
  return engine.now() + delay >= deadline ? undefined : delay;
}

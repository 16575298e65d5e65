import { timeoutError, type AbortLike } from './abort.js';
import { ClientClosedError } from './errors.js';

/**
 * What fetch rejects with where undici fails a call (`'fetch failed'`) or its body
 * (`'terminated'`): the caller's abort reason on an abort, a `TimeoutError` when undici's
 * `headersTimeout` or `bodyTimeout` ran out, else a `TypeError` with undici's error as
 * its cause. A `ClientClosedError` (the client's Agent destroyed by `close()`) stays
 * itself, as every call after `close()` rejects with it.
 */
export function asFetchError(
  error: unknown,
  signal: AbortLike | undefined,
  message: 'fetch failed' | 'terminated',
): unknown {
  if ((signal?.aborted && error === signal.reason) || error instanceof ClientClosedError) {
    return error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return timeoutError(error);
  }
  if (code === 'UND_ERR_ABORTED' && signal?.aborted) return signal.reason;
  return new TypeError(message, { cause: error });
}

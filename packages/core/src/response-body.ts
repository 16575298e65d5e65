import type { Readable } from 'node:stream';
import type { AbortLike } from './abort.js';
import { asFetchError } from './fetch-error.js';

/**
 * An undici answer body (or its decoder) as the source of a global `Response`'s body,
 * behaving as the body of a fetch answer does:
 * - an error while it is read rejects the read with `TypeError('terminated')` (undici's
 *   error as the cause), the caller's abort reason, or a `TimeoutError` when the body
 *   stalled longer than the timeout;
 * - cancelling it destroys the stream, which ends the request and gives its connection
 *   back, also before the first read (a `Readable`'s own async iterator, which `Response`
 *   would use, does nothing when returned before it has started).
 */
export class ResponseBody implements AsyncIterableIterator<Buffer> {
  readonly #readable: Readable;
  readonly #signal: AbortLike | undefined;
  #iterator: AsyncIterator<Buffer> | undefined;

  constructor(readable: Readable, signal: AbortLike | undefined) {
    this.#readable = readable;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Buffer>> {
    this.#iterator ??= this.#readable[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      return await this.#iterator.next();
    } catch (error) {
      throw asFetchError(error, this.#signal, 'terminated');
    }
  }

  return(): Promise<IteratorResult<Buffer>> {
    // undici's body reports its destruction as an error; nobody is reading any more.
    if (!this.#readable.destroyed) this.#readable.on('error', ignore).destroy();
    return Promise.resolve({ done: true, value: undefined });
  }
}

function ignore(): void {}

/**
 * Releases the connection of an answer whose body is dropped unread, when the `Response`
 * is garbage-collected, as fetch does for its own answers: undici stops reading a body
 * nobody consumes once its buffer is full, and that request would hold its connection
 * for good. Only a body that can fill the buffer pays for the registration: one without a
 * `content-length`, or with one above the buffer (a smaller one is read to its end by
 * undici, and its connection freed, whether or not anyone reads it).
 */
export function releaseWhenCollected(
  response: Response,
  body: ResponseBody,
  contentLength: string | string[] | undefined,
): void {
  if (typeof contentLength === 'string' && Number(contentLength) <= undiciBodyBuffer) return;
  unread.register(response, body);
}

/** undici's default `highWaterMark` of an answer body. */
const undiciBodyBuffer = 64 * 1024;

const unread = new FinalizationRegistry<ResponseBody>((body) => {
  void body.return();
});

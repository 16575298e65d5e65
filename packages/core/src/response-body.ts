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

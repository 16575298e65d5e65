import type { Readable } from 'node:stream';

/**
 * An undici answer body (or its decoder) as the source of a global `Response`'s body,
 * behaving as the body of a fetch answer does: cancelling it destroys the stream, which
 * ends the request and gives its connection back, also before the first read (a
 * `Readable`'s own async iterator, which `Response` would use, does nothing when returned
 * before it has started).
 */
export class ResponseBody implements AsyncIterableIterator<Buffer> {
  readonly #readable: Readable;
  #iterator: AsyncIterator<Buffer> | undefined;

  constructor(readable: Readable) {
    this.#readable = readable;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    this.#iterator ??= this.#readable[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return this.#iterator.next();
  }

  return(): Promise<IteratorResult<Buffer>> {
    // undici's body reports its destruction as an error; nobody is reading any more.
    if (!this.#readable.destroyed) this.#readable.on('error', ignore).destroy();
    return Promise.resolve({ done: true, value: undefined });
  }
}

function ignore(): void {}

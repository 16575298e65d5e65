import type { Readable } from 'node:stream';
import type { AbortLike } from './abort.js';
import { asFetchError } from './fetch-error.js';

/**
 * An undici answer body (or its decoder) as the web stream of `response.body`, made only
 * when someone asks for it, behaving as the body of a fetch answer does:
 * - a byte stream (a BYOB reader can read it);
 * - an error while it is read errors it with `TypeError('terminated')` (undici's error as
 *   the cause), the caller's abort reason, or a `TimeoutError` when the body stalled
 *   longer than the timeout;
 * - cancelling it destroys the Node stream, which ends the request and gives its
 *   connection back, also before the first read.
 */
export function webStreamOf(
  readable: Readable,
  signal: AbortLike | undefined,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let chunks: AsyncIterator<Buffer> | undefined;
  return new ReadableStream({
    type: 'bytes',
    async pull(controller) {
      chunks ??= readable[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw asFetchError(error, signal, 'terminated');
      }
      if (next.done === true) {
        controller.close();
        controller.byobRequest?.respond(0);
      } else {
        // A copy: a byte stream takes over the chunk's ArrayBuffer, which Node may share
        // between buffers.
        controller.enqueue(new Uint8Array(next.value));
      }
    },
    cancel() {
      release(readable);
    },
  });
}

/**
 * Releases the connection of an answer dropped unread, when its `Response` is
 * garbage-collected, as fetch does for its own answers: undici stops reading a body
 * nobody consumes once its buffer is full, and that request would hold its connection for
 * good. Only a body that can fill the buffer pays for the registration: one without a
 * `content-length`, or with one above the buffer (a smaller one is read to its end by
 * undici, and its connection freed, whether or not anyone reads it).
 */
export function releaseWhenCollected(
  response: Response,
  readable: Readable,
  contentLength: string | string[] | undefined,
): void {
  if (typeof contentLength === 'string' && Number(contentLength) <= undiciBodyBuffer) return;
  unread.register(response, readable, response);
}

/** The body has been handed to the caller as a web stream: it is theirs to read or cancel. */
export function keepWhenCollected(response: Response): void {
  unread.unregister(response);
}

/** undici's default `highWaterMark` of an answer body. */
const undiciBodyBuffer = 64 * 1024;

const unread = new FinalizationRegistry<Readable>(release);

function release(readable: Readable): void {
  // undici's body reports its destruction as an error; nobody is reading any more.
  if (!readable.destroyed) readable.on('error', ignore).destroy();
}

function ignore(): void {}

import type { Readable } from 'node:stream';

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

const unread = new FinalizationRegistry<Readable>((readable) => {
  // undici's body reports its destruction as an error; nobody is reading any more.
  if (!readable.destroyed) readable.on('error', ignore).destroy();
});

function ignore(): void {}

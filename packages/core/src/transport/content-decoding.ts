import type { Readable } from 'node:stream';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/**
 * Decodes an answer's body by its `content-encoding`, as fetch does: gzip (x-gzip),
 * deflate (with or without the zlib wrapper) and br, codings undone in reverse order; an
 * unknown coding leaves the body as it came; more than 5 codings is an error (a decoder
 * each would let an upstream block the event loop). Only answers that carry the
 * header pay for it.
 */
export function decodeBody(body: Readable, contentEncoding: string): Readable {
  const listed = contentEncoding.toLowerCase().split(',');
  if (listed.length > maxCodings) {
    throw new Error(
      `too many content-encodings in response: ${listed.length}, maximum allowed is ${maxCodings}`,
    );
  }
  const codings = listed
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '' && coding !== 'identity')
    .reverse();
  const decoders: NodeJS.ReadWriteStream[] = [];
  for (const coding of codings) {
    if (coding === 'gzip' || coding === 'x-gzip') {
      decoders.push(zlib.createGunzip(zlibFlush));
    } else if (coding === 'deflate') {
      decoders.push(new InflateStream());
    } else if (coding === 'br') {
      decoders.push(zlib.createBrotliDecompress(brotliFlush));
    } else {
      return body;
    }
  }
  if (decoders.length === 0) return body;
  // The decoded size, for the call's resource-timing entry (`decodedBodySize`).
  decoders.push(new CountingStream());
  return pipeline([body, ...decoders], () => {}) as unknown as Readable;
}

/** fetch's limit. */
const maxCodings = 5;

// Lenient about a body cut short, as fetch is.
const zlibFlush = {
  flush: zlib.constants.Z_SYNC_FLUSH,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};
const brotliFlush = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/**
 * `deflate` as servers send it: zlib-wrapped as the RFC says, or raw deflate as some
 * servers do; the first byte tells which (a zlib header's low nibble is 8). fetch reads
 * both.
 */
/** Passes bytes on and counts them: `decodedBytes`. */
class CountingStream extends Transform {
  decodedBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.decodedBytes += chunk.length;
    callback(null, chunk);
  }
}

class InflateStream extends Transform {
  #inflate: zlib.Inflate | zlib.InflateRaw | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inflate === undefined) {
      if (chunk.length === 0) {
        callback();
        return;
      }
      const inflate =
        ((chunk[0] ?? 0) & 0x0f) === 0x08
          ? zlib.createInflate(zlibFlush)
          : zlib.createInflateRaw(zlibFlush);
      inflate.on('data', (data: Buffer) => this.push(data));
      inflate.on('end', () => this.push(null));
      inflate.on('error', (error) => this.destroy(error));
      this.#inflate = inflate;
    }
    this.#inflate.write(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#inflate === undefined) {
      callback();
      return;
    }
    this.#inflate.once('end', () => callback());
    this.#inflate.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inflate?.destroy();
    callback(error);
  }
}

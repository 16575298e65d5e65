import { Readable } from 'node:stream';
import type { AbortLike } from './abort.js';
import { asFetchError } from './fetch-error.js';
import { ImmutableHeaders } from './immutable-headers.js';
import { keepWhenCollected, webStreamOf } from './response-body.js';

type WebBody = ReadableStream<Uint8Array<ArrayBuffer>>;

/** What an answer's body can be read from: undici's stream, a web stream, or nothing. */
export type BodySource = Readable | WebBody | null;

/**
 * The global `Response` (`instanceof Response` holds), as fetch would return it, with
 * two differences a caller cannot see:
 *
 * - `url` and `redirected` are fetch's (the constructor cannot set them);
 * - the body stays undici's Node stream until someone asks for `response.body`. On Node
 *   20 a web `ReadableStream` costs more to create than the rest of a proxied call
 *   (bench/README.md), so `text()`, `json()`, `arrayBuffer()`, `bytes()` and `blob()`
 *   read the Node stream directly, and the web stream is made only for `body` and
 *   `clone()`. They fail like fetch's on a body already read.
 */
export class UpstreamResponse extends Response {
  readonly #headers: ImmutableHeaders;
  readonly #url: string;
  #redirected: boolean;
  /** The body while no web stream has been made of it. */
  #readable: Readable | null;
  /** The body as a web stream, once `body` or `clone()` asked for one. */
  #web: WebBody | null;
  /** Read through one of the methods. */
  #used = false;
  /** The call's signal: an abort while the body is read rejects with its reason. */
  readonly #signal: AbortLike | undefined;
  /** A null body (HEAD, 204, 304) stays null, and reads as empty as often as asked. */
  readonly #hasBody: boolean;

  constructor(
    source: BodySource,
    init: ResponseInit,
    url: string,
    redirected = false,
    signal?: AbortLike,
  ) {
    // The headers are kept here, immutable, and not copied into the Response's own.
    super(null, { status: init.status ?? 200, statusText: init.statusText ?? '' });
    this.#headers =
      init.headers instanceof ImmutableHeaders ? init.headers : new ImmutableHeaders(init.headers);
    this.#url = url;
    this.#redirected = redirected;
    this.#readable = source instanceof Readable ? source : null;
    this.#web = source instanceof Readable ? null : source;
    this.#signal = signal;
    this.#hasBody = source !== null;
  }

  override get headers(): Headers {
    return this.#headers;
  }

  override get url(): string {
    return this.#url;
  }

  override get redirected(): boolean {
    return this.#redirected;
  }

  /** What fetch says of an answer from the network ('default' is a constructed one's). */
  override get type(): ResponseType {
    return 'basic';
  }

  override get body(): WebBody | null {
    if (this.#readable !== null) {
      this.#web = webStreamOf(this.#readable, this.#signal);
      this.#readable = null;
      keepWhenCollected(this);
    } else if (this.#used && this.#web === null) {
      // Read already: what fetch hands out then is a stream with nothing left in it.
      this.#web = new ReadableStream({ start: (controller) => controller.close() });
    }
    return this.#web;
  }

  /** Read, or its stream read from or cancelled (a reader that only locks it is not a use). */
  override get bodyUsed(): boolean {
    // Node's isDisturbed reads web streams too; its types only say Node streams.
    return this.#used || (this.#web !== null && Readable.isDisturbed(this.#web as never));
  }

  override async text(): Promise<string> {
    return utf8(await this.#bytes());
  }

  override async json(): Promise<unknown> {
    return JSON.parse(utf8(await this.#bytes())) as unknown;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.#bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async blob(): Promise<Blob> {
    // fetch's type is the parsed and serialized MIME type, not the header as sent.
    return new Response(await this.arrayBuffer(), { headers: this.headers }).blob();
  }

  override async formData(): Promise<FormData> {
    const bytes = await this.arrayBuffer();
    return new Response(bytes, { headers: this.headers }).formData();
  }

  override clone(): Response {
    if (this.#unusable()) {
      throw new TypeError('Response.clone: Body has already been consumed.');
    }
    const web = this.body;
    if (web === null) {
      return new UpstreamResponse(null, this, this.#url, this.#redirected);
    }
    const [mine, theirs] = web.tee();
    this.#web = mine;
    return new UpstreamResponse(theirs, this, this.#url, this.#redirected);
  }

  /**
   * The same answer, marked as reached through redirects. tokenfetch follows redirects
   * itself, so an answer from a `fetch` option is marked too (an own property over the
   * prototype's getter; its `clone()` does not keep it).
   */
  static redirected(response: Response): Response {
    if (response instanceof UpstreamResponse) response.#redirected = true;
    else Object.defineProperty(response, 'redirected', { value: true, enumerable: true });
    return response;
  }

  /**
   * Lets go of an answer that is not handed to the caller (a 401 before the replay, a 3xx
   * that is followed): undici's stream is drained so its connection can be reused, up to
   * `discardDrainBytes`; a longer body is destroyed, as fetch's cancel does, or an endless
   * one would hold its connection for good.
   */
  static discard(response: Response): Promise<void> {
    if (response instanceof UpstreamResponse && response.#readable !== null) {
      const readable = response.#readable;
      response.#readable = null;
      response.#used = true;
      let drained = 0;
      readable
        .on('error', () => {})
        .on('data', (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > discardDrainBytes) readable.destroy();
        });
      return Promise.resolve();
    }
    return response.body?.cancel() ?? Promise.resolve();
  }

  /** fetch's "unusable" body: used, or its stream locked by a reader. */
  #unusable(): boolean {
    return this.bodyUsed || (this.#web?.locked ?? false);
  }

  async #bytes(): Promise<Uint8Array> {
    if (!this.#hasBody) return new Uint8Array(0);
    if (this.#unusable()) {
      throw new TypeError('Body is unusable: Body has already been read');
    }
    this.#used = true;
    if (this.#readable !== null) return collect(this.#readable, this.#signal);
    if (this.#web !== null) return new Uint8Array(await new Response(this.#web).arrayBuffer());
    return new Uint8Array(0);
  }
}

/** The most of a discarded answer's body read to keep its connection: undici's buffer. */
const discardDrainBytes = 64 * 1024;

/**
 * Reads a Node stream to its end, rejecting as fetch does: `TypeError('terminated')`, a
 * `TimeoutError` for a stalled body, or the abort reason.
 */
function collect(readable: Readable, signal: AbortLike | undefined): Promise<Uint8Array> {
  // Broken off (a reset, an abort, a stall) before anyone read it: its events are past.
  if (readable.errored !== null) {
    return Promise.reject(asFetchError(readable.errored, signal, 'terminated'));
  }
  if (readable.destroyed) return Promise.reject(new TypeError('terminated'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    readable
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .once('end', () => {
        ended = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      })
      .once('error', (error) => reject(asFetchError(error, signal, 'terminated')))
      .once('close', () => {
        if (!ended) reject(new TypeError('terminated'));
      });
  });
}

/** fetch's UTF-8 decode: a leading byte order mark is dropped, bad bytes become U+FFFD. */
function utf8(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

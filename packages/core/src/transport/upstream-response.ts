import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { AbortLike } from '../shared/abort.js';
import { timeoutError } from '../shared/abort.js';
import { TokenFetchError } from '../shared/errors.js';
import { markFetchRedirected } from './transport.js';
import { keepWhenCollected } from './unread-body.js';

type WebBody = ReadableStream<Uint8Array<ArrayBuffer>>;

/** What an answer's body can be read from: undici's stream, a web stream, or nothing. */
export type BodySource = Readable | WebBody | null;

/**
 * The global `Response` (`instanceof Response` holds), as fetch would return it, with
 * what a caller of fetch sees: `url` and `redirected`, immutable headers, a body read once.
 * Two things are done differently, for cost, where no caller can see it:
 *
 * - the body stays undici's Node stream until someone asks for `response.body`. On Node
 *   20 a web `ReadableStream` costs more to create than the rest of a proxied call
 *   (bench/README.md), so `text()`, `json()`, `arrayBuffer()`, `bytes()` and `blob()`
 *   read the Node stream directly; `body` and `clone()` make the web stream;
 * - the headers are built from undici's parsed headers when first asked for.
 *
 * Errors while the body is read are fetch's: the abort reason, a `TimeoutError`, or
 * `TypeError('terminated')` with the cause. What is not like fetch: the base class's own
 * methods called on it directly (`Response.prototype.text.call(response)`) see no body.
 */
export class UpstreamResponse extends Response {
  readonly #url: string;
  #redirected: boolean;
  #rawHeaders: IncomingHttpHeaders | Headers;
  #headers: Headers | undefined;
  /** The body while no web stream has been made of it. */
  #readable: Readable | null;
  /** The body as a web stream, once `body` or `clone()` asked for one. */
  #web: WebBody | null;
  /** Whether the answer has a body at all (not HEAD, 204, 304…). */
  readonly #hasBody: boolean;
  /** Read through one of the methods (a read of the web stream disturbs that stream). */
  #used = false;
  readonly #signal: AbortLike | undefined;
  /** When the request was sent and its headers came (`performance.now()`), for resource timing. */
  readonly #requestStart: number;
  readonly #responseStart: number;
  /** undici's own body, whose bytes read are the encoded size. */
  readonly #raw: Readable | undefined;
  /** The resource-timing mark waiting for the end of the body (`time()`). */
  #onEnd: (() => void) | undefined;

  constructor(
    source: BodySource,
    init: { status: number; statusText: string },
    headers: IncomingHttpHeaders | Headers,
    url: string,
    options: {
      redirected?: boolean;
      signal?: AbortLike | undefined;
      requestStart?: number;
      responseStart?: number;
      raw?: Readable;
    } = {},
  ) {
    super(null, init);
    this.#requestStart = options.requestStart ?? 0;
    this.#responseStart = options.responseStart ?? 0;
    this.#raw = options.raw;
    this.#url = url;
    this.#redirected = options.redirected ?? false;
    this.#signal = options.signal;
    this.#rawHeaders = headers;
    this.#hasBody = source !== null;
    if (source instanceof Readable) {
      this.#readable = source;
      this.#web = null;
      // An error before anyone reads (a reset, an abort) must not be unhandled; the stream
      // keeps it (\`errored\`). The listener does not hold this Response: an answer dropped
      // unread can be collected, and its connection released (unread-body.ts).
      source.on('error', ignore);
    } else {
      this.#readable = null;
      this.#web = source;
    }
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

  override get headers(): Headers {
    return (this.#headers ??= immutableHeaders(this.#rawHeaders));
  }

  override get body(): WebBody | null {
    if (!this.#hasBody) return null;
    if (this.#readable !== null) {
      this.#web = this.#toWeb(this.#readable);
      this.#readable = null;
      keepWhenCollected(this);
    } else if (this.#web === null) {
      // Read already: what fetch hands out then is a stream with nothing left in it.
      this.#web = new ReadableStream({ start: (controller) => controller.close() });
    }
    return this.#web;
  }

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
    if (this.bodyUsed || (this.#web?.locked ?? false)) {
      throw new TypeError('Response.clone: Body has already been consumed.');
    }
    const init = { status: this.status, statusText: this.statusText };
    const options = { redirected: this.#redirected, signal: this.#signal };
    const web = this.body;
    if (web === null) return new UpstreamResponse(null, init, this.headers, this.#url, options);
    const [mine, theirs] = web.tee();
    this.#web = mine;
    return new UpstreamResponse(theirs, init, this.headers, this.#url, options);
  }

  /** The same answer, marked as reached through redirects. */
  static redirected(response: Response): Response {
    if (response instanceof UpstreamResponse) response.#redirected = true;
    else markFetchRedirected(response);
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
      // Not the caller's answer: no resource-timing entry for it.
      if (response.#onEnd !== undefined) readable.off('end', response.#onEnd);
      response.#readable = null;
      response.#used = true;
      let drained = 0;
      readable.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > discardDrainBytes) readable.destroy();
      });
      return Promise.resolve();
    }
    return response.body?.cancel() ?? Promise.resolve();
  }

  /**
   * fetch's resource-timing entry for the call that `response` ends (`name`, its first URL;
   * times from `performance.now()`, a redirect's 0 when there was none): made when its body
   * has been read to the end (at once for an answer without one), as fetch makes it.
   */
  static time(
    response: Response,
    name: string,
    startTime: number,
    redirectStart: number,
    redirectEnd: number,
  ): void {
    if (!(response instanceof UpstreamResponse)) return;
    const readable = response.#readable;
    const raw = response.#raw;
    // The mark waits on the body stream, which undici holds while it is open: it holds
    // nothing of the Response, which may be collected unread (unread-body.ts).
    const times = [
      startTime,
      redirectStart,
      redirectEnd,
      response.#requestStart,
      response.#responseStart,
    ] as const;
    const status = response.status;
    const mark = () => markTiming(name, status, times, sizes(raw, readable));
    if (readable === null) {
      if (!response.#hasBody) mark();
      return;
    }
    response.#onEnd = mark;
    readable.on('end', mark);
  }

  async #bytes(): Promise<Uint8Array> {
    // A null body (HEAD, 204, 304) reads as empty, as often as asked, and is never used.
    if (!this.#hasBody) return new Uint8Array(0);
    if (this.bodyUsed || (this.#web?.locked ?? false)) {
      throw new TypeError('Body is unusable: Body has already been read');
    }
    this.#used = true;
    if (this.#readable !== null) return this.#collect(this.#readable);
    if (this.#web !== null) return new Uint8Array(await new Response(this.#web).arrayBuffer());
    return new Uint8Array(0);
  }

  /** Reads the Node stream to its end, rejecting as fetch would if it breaks. */
  #collect(readable: Readable): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (readable.destroyed) {
        reject(bodyError(readable.errored ?? terminated(), this.#signal));
        return;
      }
      const chunks: Buffer[] = [];
      let ended = false;
      readable
        .on('data', (chunk: Buffer) => chunks.push(chunk))
        .once('end', () => {
          ended = true;
          resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        })
        .once('error', (error: unknown) => reject(bodyError(error, this.#signal)))
        .once('close', () => {
          if (!ended) reject(bodyError(readable.errored ?? terminated(), this.#signal));
        });
    });
  }

  /**
   * The Node stream as a web stream that reads only when asked (high-water mark 0), so
   * that a read marks the body used, and that errors like fetch's body; a byte stream, as
   * fetch's is (a BYOB reader can read it).
   */
  #toWeb(readable: Readable): WebBody {
    if (readable.destroyed) {
      const error = bodyError(readable.errored ?? terminated(), this.#signal);
      return new ReadableStream({
        type: 'bytes',
        start: (controller) => controller.error(error),
      }) as WebBody;
    }
    const signal = this.#signal;
    readable.pause();
    return new ReadableStream(
      {
        type: 'bytes',
        start: (controller) => {
          let ended = false;
          readable
            .on('data', (chunk: Buffer) => {
              // A copy: a byte stream takes over the chunk's ArrayBuffer, which Node may
              // share between buffers.
              controller.enqueue(new Uint8Array(chunk));
              if ((controller.desiredSize ?? 0) <= 0) readable.pause();
            })
            .once('end', () => {
              ended = true;
              controller.close();
              controller.byobRequest?.respond(0);
            })
            .once('error', (error: unknown) => controller.error(bodyError(error, signal)))
            .once('close', () => {
              if (!ended) controller.error(bodyError(readable.errored ?? terminated(), signal));
            });
        },
        pull: () => {
          readable.resume();
        },
        cancel: () => {
          readable.destroy();
        },
      },
      { highWaterMark: 0 },
    ) as WebBody;
  }
}

/** undici's count of a body's bytes as received (before decoding), found on the first body. */
let bytesRead: symbol | null | undefined;

/** A body's size as received (encoded) and as read (decoded: content-decoding.ts counts it). */
function sizes(raw: Readable | undefined, body: Readable | null): [number, number] {
  if (raw === undefined) return [0, 0];
  bytesRead ??=
    Object.getOwnPropertySymbols(raw).find((symbol) => symbol.description === 'kBytesRead') ?? null;
  const read =
    bytesRead === null ? undefined : (raw as unknown as Record<symbol, unknown>)[bytesRead];
  const encoded = typeof read === 'number' ? read : 0;
  const decoded = (body as { decodedBytes?: unknown } | null)?.decodedBytes;
  return [encoded, typeof decoded === 'number' ? decoded : encoded];
}

/**
 * fetch's `PerformanceResourceTiming` for one call (`performance.markResourceTiming`, as
 * Node's fetch calls it). Connection times are not known on undici's request API: they
 * read as a connection reused (equal to `fetchStart`), as the spec gives them then.
 */
function markTiming(
  name: string,
  status: number,
  [startTime, redirectStart, redirectEnd, requestStart, responseStart]: readonly number[],
  [encodedBodySize, decodedBodySize]: [number, number],
): void {
  const fetchStart = redirectEnd === 0 ? startTime : redirectEnd;
  const timingInfo = {
    startTime,
    redirectStartTime: redirectStart,
    redirectEndTime: redirectEnd,
    postRedirectStartTime: fetchStart,
    finalServiceWorkerStartTime: 0,
    finalNetworkRequestStartTime: requestStart,
    finalNetworkResponseStartTime: responseStart,
    endTime: performance.now(),
    encodedBodySize,
    decodedBodySize,
    finalConnectionTimingInfo: {
      domainLookupStartTime: fetchStart,
      domainLookupEndTime: fetchStart,
      connectionStartTime: fetchStart,
      connectionEndTime: fetchStart,
      secureConnectionStartTime: name.startsWith('https:') ? fetchStart : 0,
      ALPNNegotiatedProtocol: undefined,
    },
  };
  // Node 20 takes five arguments; Node 22 and later three more (body sizes, status, delivery type).
  (performance.markResourceTiming as (...args: unknown[]) => unknown)(
    timingInfo,
    name,
    'fetch',
    globalThis,
    '',
    { encodedBodySize, decodedBodySize },
    status,
    '',
  );
}

/** The most of a discarded answer's body read to keep its connection: undici's buffer. */
const discardDrainBytes = 64 * 1024;

/** Headers as fetch hands them out on a response: read-only. */
class ResponseHeaders extends Headers {
  #sealed = false;

  seal(): this {
    this.#sealed = true;
    return this;
  }

  override append(name: string, value: string): void {
    this.#check();
    super.append(name, value);
  }

  override set(name: string, value: string): void {
    this.#check();
    super.set(name, value);
  }

  override delete(name: string): void {
    this.#check();
    super.delete(name);
  }

  #check(): void {
    if (this.#sealed) throw new TypeError('Headers are immutable');
  }
}

function immutableHeaders(raw: IncomingHttpHeaders | Headers): Headers {
  const headers = new ResponseHeaders();
  if (raw instanceof Headers) {
    // Iteration yields each set-cookie on its own, like fetch's.
    for (const [name, value] of raw) headers.append(name, value);
    return headers.seal();
  }
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const each of value) headers.append(name, each);
  }
  return headers.seal();
}

function ignore(): void {}

function terminated(): TypeError {
  return new TypeError('terminated');
}

/**
 * A body error as fetch reports it: an abort reason as it was given, a timeout as a
 * `TimeoutError`, a tokenfetch error (the client was closed) as it is, anything else as
 * `TypeError('terminated')` with the cause.
 */
export function bodyError(error: unknown, signal: AbortLike | undefined): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  if (!(error instanceof Error) || error instanceof DOMException) return error;
  if (error instanceof TokenFetchError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return timeoutError(error);
  }
  if (error instanceof TypeError && error.message === 'terminated') return error;
  return new TypeError('terminated', { cause: error });
}

/** fetch's UTF-8 decode: a leading byte order mark is dropped, bad bytes become U+FFFD. */
function utf8(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

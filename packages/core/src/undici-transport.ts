import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { settle, startCall, timeoutError, type AbortLike } from './abort.js';
import { TokenFetchError } from './errors.js';
import { toSendable, type SendableBody } from './request-body.js';
import type { OutgoingCall, Target, Transport } from './transport.js';
import { UpstreamResponse } from './upstream-response.js';

/**
 * The per-call path on undici's dispatcher API: `dispatcher.request()` and a global
 * `Response` around its body. Node's own `fetch` builds a `Request`, a signal and a
 * stream per call on top of the same dispatcher; this skips what a proxied call does not
 * need (bench/README.md, "Where tokenfetch's per-call cost goes"). The timeout is the
 * dispatcher's (`headersTimeout`, `bodyTimeout`): no timer and no AbortController per call.
 */
export interface UndiciTransport {
  send: Transport;
  /** Ends the client's own Agent, failing calls still in flight with `reason`. */
  destroy(reason: Error): Promise<void>;
}

/**
 * `dispatcher`: the caller's own (an `Agent`, `ProxyAgent`, `EnvHttpProxyAgent`, mTLS…),
 * left open on destroy; otherwise an `Agent` of this client.
 */
export function createUndiciTransport(options: {
  timeoutMs: number;
  dispatcher?: Dispatcher | undefined;
}): UndiciTransport {
  const { timeoutMs } = options;
  const own = options.dispatcher === undefined ? new Agent() : undefined;
  const dispatcher = options.dispatcher ?? own!;

  async function send(target: Target, call: OutgoingCall): Promise<Response> {
    const prepared = toSendable(call.body);
    const body = prepared instanceof Promise ? await prepared : prepared;
    // undici times the wait for the headers from the end of the upload: a stream body that
    // stalls needs a timer of its own (only these calls pay for it).
    const upload =
      body.body !== null && typeof body.body === 'object' && !(body.body instanceof Uint8Array)
        ? startCall(
            timeoutMs,
            call.signal instanceof AbortSignal ? call.signal : undefined,
            call.signal instanceof AbortSignal ? undefined : call.signal,
          )
        : undefined;
    const signal = upload?.signal ?? call.signal;
    let data: Dispatcher.ResponseData;
    try {
      data = await dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: withBodyHeaders(call.headers, body),
        body: body.body as Exclude<Dispatcher.DispatchOptions['body'], undefined>,
        signal: signal ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw asFetchError(error, signal);
    } finally {
      if (upload !== undefined) settle(upload);
    }
    return toResponse(data, call.method, target.href, signal);
  }

  return {
    send,
    destroy: (reason) => own?.destroy(reason) ?? Promise.resolve(),
  };
}

function withBodyHeaders(
  headers: Record<string, string>,
  body: SendableBody,
): Record<string, string> {
  const setType = body.contentType !== undefined && headers['content-type'] === undefined;
  if (!setType && body.length === undefined) return headers;
  const out = { ...headers };
  if (setType) out['content-type'] = body.contentType!;
  if (body.length !== undefined) out['content-length'] = String(body.length);
  return out;
}

/** What fetch rejects with: the abort reason, a `TimeoutError`, or `TypeError('fetch failed')`. */
function asFetchError(error: unknown, signal: AbortLike | undefined): unknown {
  if (signal?.aborted && (error === signal.reason || isAbortCode(error))) return signal.reason;
  if (error instanceof TokenFetchError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return timeoutError(error);
  }
  return new TypeError('fetch failed', { cause: error });
}

function isAbortCode(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'UND_ERR_ABORTED';
}

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

function toResponse(
  data: Dispatcher.ResponseData,
  method: string,
  url: string,
  signal: AbortLike | undefined,
): Response {
  const { statusCode, headers } = data;
  // An error before anyone reads (a reset, an abort) must not be an unhandled 'error'.
  data.body.on('error', ignore);
  if (statusCode < 200 || statusCode > 599) {
    data.body.destroy();
    throw new TypeError('fetch failed', {
      cause: new RangeError(`the upstream answered status ${statusCode}`),
    });
  }
  let body: Readable | null = data.body;
  if (method === 'HEAD' || nullBodyStatuses.has(statusCode)) {
    data.body.resume();
    body = null;
  } else if (headers['content-encoding'] !== undefined) {
    body = decode(data.body, String(headers['content-encoding']));
  }
  return new UpstreamResponse(
    body,
    { status: statusCode, statusText: reasonPhrase(data.statusText) },
    headers,
    url,
    { signal },
  );
}

function ignore(): void {}

/** A reason phrase the Response class accepts; anything else is dropped, not fatal. */
function reasonPhrase(text: string | undefined): string {
  return text !== undefined && /^[\t\x20-\x7E\x80-\xFF]*$/.test(text) ? text : '';
}

/**
 * Decodes gzip, deflate and br bodies as fetch does (codings in reverse order; an unknown
 * coding leaves the body as it is). Only answers that carry `content-encoding` pay for it.
 */
function decode(body: Readable, contentEncoding: string): Readable {
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '')
    .reverse();
  if (codings.length > maxContentCodings) {
    body.destroy();
    throw new TypeError('fetch failed', {
      cause: new Error(
        `too many content-encodings in response: ${codings.length}, maximum allowed is ${maxContentCodings}`,
      ),
    });
  }
  const decoders: NodeJS.ReadWriteStream[] = [];
  for (const coding of codings) {
    if (coding === 'gzip' || coding === 'x-gzip') {
      decoders.push(zlib.createGunzip(zlibFlush));
    } else if (coding === 'deflate') {
      decoders.push(zlib.createInflate(zlibFlush));
    } else if (coding === 'br') {
      decoders.push(zlib.createBrotliDecompress(brotliFlush));
    } else {
      return body;
    }
  }
  if (decoders.length === 0) return body;
  return pipeline([body, ...decoders], () => {}) as unknown as Readable;
}

/** As fetch: more codings than this is a hostile answer (a decoder each costs memory). */
const maxContentCodings = 5;

const zlibFlush = {
  flush: zlib.constants.Z_SYNC_FLUSH,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};
const brotliFlush = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

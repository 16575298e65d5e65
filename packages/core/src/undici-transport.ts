import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { AbortGroup, LinkedSignal, timeoutError, type AbortLike } from './abort.js';
import { toSendable, type SendableBody } from './request-body.js';
import type { ClientTransport, OutgoingCall, Target } from './transport.js';
import { UpstreamResponse } from './upstream-response.js';

/**
 * The per-call path on undici's dispatcher API: `dispatcher.request()` and a global
 * `Response` around its body. Node's own `fetch` builds a `Request`, a signal and a
 * stream per call on top of the same dispatcher; this skips what a proxied call does not
 * need (bench/README.md, "Where tokenfetch's per-call cost goes"). The timeout is the
 * dispatcher's (`headersTimeout`, `bodyTimeout`): no timer and no AbortController per call.
 *
 * `dispatcher`: the caller's own (an `Agent`, `ProxyAgent`, `EnvHttpProxyAgent`, mTLS…),
 * left open on close; otherwise an `Agent` of this client, which `close()` destroys: that
 * fails every call in flight at no cost per call. The caller's dispatcher cannot be
 * destroyed, so then each call follows the client's life instead: a call without a signal
 * gets that life as its signal (undici adds and removes one listener), one with a signal a
 * `LinkedSignal` of both.
 */
export function createUndiciTransport(options: {
  timeoutMs: number;
  dispatcher?: Dispatcher | undefined;
}): ClientTransport {
  const { timeoutMs } = options;
  const own = options.dispatcher === undefined ? new Agent() : undefined;
  const dispatcher = options.dispatcher ?? own!;
  const life = own === undefined ? new AbortGroup() : undefined;
  let closedWith: Error | undefined;

  async function send(target: Target, call: OutgoingCall): Promise<Response> {
    // A call whose downstream client has already left is not even connected.
    if (call.signal?.aborted) throw call.signal.reason;
    if (closedWith !== undefined) throw closedWith;
    const prepared = toSendable(call.body);
    const body = prepared instanceof Promise ? await prepared : prepared;
    let data: Dispatcher.ResponseData;
    try {
      data = await dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: withBodyHeaders(call.headers, body),
        body: body.body as Exclude<Dispatcher.DispatchOptions['body'], undefined>,
        signal: signalOf(call.signal),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw closedWith ?? asFetchError(error, call);
    }
    return toResponse(data, call.method, target.href);
  }

  /** The signal undici gets: the call's own, joined by the client's life where needed. */
  function signalOf(signal: AbortLike | undefined): AbortLike | null {
    if (life === undefined) return signal ?? null;
    return signal === undefined ? life : new LinkedSignal([signal, life]);
  }

  return {
    send,
    close(reason) {
      closedWith = reason;
      life?.abort(reason);
      return own?.destroy(reason) ?? Promise.resolve();
    },
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
function asFetchError(error: unknown, call: OutgoingCall): unknown {
  if (call.signal?.aborted && error === call.signal.reason) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return timeoutError(error);
  }
  if (code === 'UND_ERR_ABORTED' && call.signal?.aborted) return call.signal.reason;
  return new TypeError('fetch failed', { cause: error });
}

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

function toResponse(data: Dispatcher.ResponseData, method: string, url: string): Response {
  const headers = new Headers();
  for (const name in data.headers) {
    const value = data.headers[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const each of value) headers.append(name, each);
  }
  let body: Readable | null = data.body;
  if (method === 'HEAD' || nullBodyStatuses.has(data.statusCode)) {
    data.body.resume();
    body = null;
  } else if (data.headers['content-encoding'] !== undefined) {
    body = decode(data.body, headers.get('content-encoding')!);
  }
  try {
    return new UpstreamResponse(
      body,
      { status: data.statusCode, statusText: data.statusText ?? '', headers },
      url,
    );
  } catch (error) {
    // A status or reason phrase the Response class refuses (e.g. 600 or a control byte).
    data.body.destroy();
    throw new TypeError('fetch failed', { cause: error });
  }
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
    .filter((coding) => coding !== '' && coding !== 'identity')
    .reverse();
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

const zlibFlush = {
  flush: zlib.constants.Z_SYNC_FLUSH,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};
const brotliFlush = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import {
  AbortGroup,
  LinkedSignal,
  settle,
  startCall,
  timeoutError,
  type AbortLike,
} from '../shared/abort.js';
import { decodeBody } from './content-decoding.js';
import { TokenFetchError } from '../shared/errors.js';
import { toSendable, type SendableBody } from './request-body.js';
import { releaseWhenCollected } from './unread-body.js';
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
    const limit = call.timeoutMs ?? timeoutMs;
    // undici times the wait for the headers from the end of the upload, and checks its
    // timeouts about twice a second: a stream body that stalls, and a timeout too short for
    // undici's clock, need a timer of their own (only these calls pay for it).
    const upload =
      limit < ownTimerBelowMs ||
      (body.body !== null && typeof body.body === 'object' && !(body.body instanceof Uint8Array))
        ? startCall(limit, call.signal)
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
        signal: signalOf(signal),
        headersTimeout: limit,
        bodyTimeout: limit,
      });
    } catch (error) {
      throw closedWith ?? asFetchError(error, signal);
    } finally {
      if (upload !== undefined) settle(upload);
    }
    return toResponse(data, call.method, target.href, signal);
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

/** Below this, undici's half-second timer ticks would make a timeout late by 10 % or more. */
const ownTimerBelowMs = 5_000;

/** The headers undici sends: the body's content type and length added. */
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
    try {
      body = decodeBody(data.body, String(headers['content-encoding']));
    } catch (error) {
      data.body.destroy();
      throw new TypeError('fetch failed', { cause: error });
    }
  }
  const response = new UpstreamResponse(
    body,
    { status: statusCode, statusText: reasonPhrase(data.statusText) },
    headers,
    url,
    { signal },
  );
  if (body !== null) releaseWhenCollected(response, body, headers['content-length']);
  return response;
}

function ignore(): void {}

/** A reason phrase the Response class accepts; anything else is dropped, not fatal. */
function reasonPhrase(text: string | undefined): string {
  return text !== undefined && /^[\t\x20-\x7E\x80-\xFF]*$/.test(text) ? text : '';
}

import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Agent, Dispatcher } from 'undici';
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
import { releaseWhenCollected, watchBody } from './unread-body.js';
import {
  answerOnce,
  namedAsGiven,
  type CallDispatcher,
  type ClientTransport,
  type OutgoingCall,
  type Target,
} from './transport.js';
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
 * fails every call in flight at no cost per call. A call may bring a dispatcher of its own
 * (fetch's `init.dispatcher`), which then carries it. A dispatcher needs only `dispatch()`,
 * as with fetch. The caller's dispatchers cannot be destroyed, so each of their calls
 * follows the client's life instead: a call without a signal gets that life as its signal
 * (undici adds and removes one listener), one with a signal a `LinkedSignal` of both.
 *
 * `timeoutMs` bounds every request on the client's own Agent; on a caller's dispatcher only
 * when `timeoutGiven` (the caller set `timeoutMs`): otherwise that dispatcher's own
 * `headersTimeout` and `bodyTimeout` apply, as they would with fetch.
 */
export function createUndiciTransport(options: {
  timeoutMs: number;
  timeoutGiven?: boolean | undefined;
  dispatcher?: CallDispatcher | undefined;
}): ClientTransport {
  const { timeoutMs } = options;
  const own = options.dispatcher === undefined ? new Agent() : undefined;
  const dispatcher = options.dispatcher ?? own!;
  /** Ends the calls on a dispatcher that is not the client's own Agent. */
  const life = new AbortGroup();
  /** The bound of a request on a caller's dispatcher: `timeoutMs` if the caller set it. */
  const callerLimit = options.timeoutGiven === true ? timeoutMs : undefined;
  const defaultLimit = own === undefined ? callerLimit : timeoutMs;
  let closedWith: Error | undefined;

  /** Not `async`: a call nobody watches goes straight to `request`, with no tick added. */
  function send(target: Target, call: OutgoingCall): Promise<Response> {
    if (call.watcher === undefined) return request(target, call, undefined);
    const done = answerOnce(call.watcher);
    return request(target, call, done).catch((error: unknown) => {
      done();
      throw error;
    });
  }

  /** One request; `done` (a watched call's) is told when its answer is done with. */
  async function request(
    target: Target,
    call: OutgoingCall,
    done: (() => void) | undefined,
  ): Promise<Response> {
    // A call whose downstream client has already left is not even connected.
    if (call.signal?.aborted) throw call.signal.reason;
    if (closedWith !== undefined) throw closedWith;
    const prepared = toSendable(call.body);
    const body = prepared instanceof Promise ? await prepared : prepared;
    const via = call.dispatcher ?? dispatcher;
    const limit = call.timeoutMs ?? (call.dispatcher === undefined ? defaultLimit : callerLimit);
    // undici times the wait for the headers from the end of the upload, and checks its
    // timeouts about twice a second: a stream body that stalls, and a timeout too short for
    // undici's clock, need a timer of their own (only these calls pay for it).
    const upload =
      limit !== undefined &&
      (limit < ownTimerBelowMs ||
        (body.body !== null && typeof body.body === 'object' && !(body.body instanceof Uint8Array)))
        ? startCall(limit, call.signal)
        : undefined;
    const signal = upload?.signal ?? call.signal;
    const options: Dispatcher.RequestOptions = {
      origin: target.origin,
      path: target.path,
      method: call.method as Dispatcher.HttpMethod,
      headers: namedAsGiven(withBodyHeaders(call.headers, body), call.spelling),
      body: body.body as Exclude<Dispatcher.DispatchOptions['body'], undefined>,
      signal: via === own ? (signal ?? null) : signalOf(signal),
      // null: the dispatcher's own timeouts apply.
      headersTimeout: limit ?? null,
      bodyTimeout: limit ?? null,
      // As fetch asks: a dispatcher that follows redirects itself (undici's redirect
      // interceptor) must not, or a credential would follow a 3xx to another origin;
      // tokenfetch follows redirects itself, by its own rules.
      maxRedirections: 0,
    } as Dispatcher.RequestOptions;
    let data: Dispatcher.ResponseData;
    const requestStart = call.timed === true ? performance.now() : 0;
    try {
      data = await (typeof (via as Partial<Dispatcher>).request === 'function'
        ? (via as Dispatcher).request(options)
        : // A dispatcher with only dispatch(), as fetch takes: undici's request() over it.
          (requestOver.call(via, options) as Promise<Dispatcher.ResponseData>));
    } catch (error) {
      throw closedWith ?? asFetchError(error, signal);
    } finally {
      if (upload !== undefined) settle(upload);
    }
    return toResponse(data, call.method, target.href, signal, done, requestStart);
  }

  /** The signal undici gets on a caller's dispatcher: the call's own, joined by the client's life. */
  function signalOf(signal: AbortLike | undefined): AbortLike {
    return signal === undefined ? life : new LinkedSignal([signal, life]);
  }

  return {
    send,
    close(reason) {
      closedWith = reason;
      life.abort(reason);
      return own?.destroy(reason) ?? Promise.resolve();
    },
  };
}

/** undici's `Dispatcher.prototype.request`, which needs only `this.dispatch()`. */
const requestOver = (
  Dispatcher.prototype as unknown as { request: (options: unknown) => Promise<unknown> }
).request;

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
  done: (() => void) | undefined,
  requestStart: number,
): Response {
  const responseStart = requestStart === 0 ? 0 : performance.now();
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
    { signal, requestStart, responseStart, raw: data.body },
  );
  if (body !== null) releaseWhenCollected(response, body, headers['content-length']);
  if (done !== undefined) watchBody(body ?? data.body, done);
  return response;
}

function ignore(): void {}

/** A reason phrase the Response class accepts; anything else is dropped, not fatal. */
function reasonPhrase(text: string | undefined): string {
  return text !== undefined && /^[\t\x20-\x7E\x80-\xFF]*$/.test(text) ? text : '';
}

import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { settle, startCall, type AbortLike, type CallController } from './abort.js';
import { decodeBody } from './content-decoding.js';
import { ImmutableHeaders } from './immutable-headers.js';
import { asFetchError } from './fetch-error.js';
import { toSendable, type SendableBody } from './request-body.js';
import { releaseWhenCollected } from './response-body.js';
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
    if (call.body != null && (call.method === 'GET' || call.method === 'HEAD')) {
      // fetch's own refusal; undici would send the body.
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
    const prepared = toSendable(call.body);
    const body = prepared instanceof Promise ? await prepared : prepared;
    const limit = call.timeoutMs ?? timeoutMs;
    // undici checks its timeouts about twice a second and does not time an upload: a call
    // whose timeout it cannot keep gets a timer of its own until its headers are in, as on
    // the fetch path (a short timeout, a stream upload).
    const timer =
      limit < ownTimerBelowMs || isStream(body.body) ? startTimer(limit, call.signal) : undefined;
    const signal = timer?.signal ?? call.signal;
    let data: Dispatcher.ResponseData;
    try {
      data = await dispatcher.request({
        origin: target.origin,
        path: target.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: withBodyHeaders(call.headers, body),
        body: body.body as Exclude<Dispatcher.DispatchOptions['body'], undefined>,
        signal: signal ?? null,
        headersTimeout: limit,
        bodyTimeout: limit,
      });
    } catch (error) {
      throw asFetchError(error, signal, 'fetch failed');
    } finally {
      if (timer !== undefined) settle(timer);
    }
    return toResponse(data, call.method, signal, target.href);
  }

  return {
    send,
    destroy: (reason) => own?.destroy(reason) ?? Promise.resolve(),
  };
}

/**
 * The headers undici sends: the body's content type and length added, and a caller's
 * `host` left out, as fetch leaves it out (undici would send it, and a shared ingress
 * would route the token to that other virtual host).
 */
function withBodyHeaders(
  headers: Record<string, string>,
  body: SendableBody,
): Record<string, string> {
  const setType = body.contentType !== undefined && headers['content-type'] === undefined;
  const host = headers.host !== undefined;
  if (!setType && body.length === undefined && !host) return headers;
  const out = { ...headers };
  if (setType) out['content-type'] = body.contentType!;
  if (body.length !== undefined) out['content-length'] = String(body.length);
  if (host) delete out.host;
  return out;
}

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

function ignore(): void {}

/** Below this, undici's half-second timer ticks would make a timeout late by 10 % or more. */
const ownTimerBelowMs = 5_000;

function startTimer(timeoutMs: number, signal: AbortLike | undefined): CallController {
  const caller = signal instanceof AbortSignal ? signal : undefined;
  return startCall(timeoutMs, caller, caller === undefined ? signal : undefined);
}

function isStream(body: SendableBody['body']): boolean {
  return typeof body === 'object' && body !== null && !(body instanceof Uint8Array);
}

function toResponse(
  data: Dispatcher.ResponseData,
  method: string,
  signal: AbortLike | undefined,
  url: string,
): Response {
  const fields: [string, string][] = [];
  for (const name in data.headers) {
    const value = data.headers[name];
    if (typeof value === 'string') fields.push([name, value]);
    else if (value !== undefined) for (const each of value) fields.push([name, each]);
  }
  const headers = new ImmutableHeaders(fields);
  let body: Readable | null = null;
  if (method === 'HEAD' || nullBodyStatuses.has(data.statusCode)) {
    data.body.resume();
  } else if (data.headers['content-encoding'] === undefined) {
    body = data.body;
  } else {
    try {
      body = decodeBody(data.body, headers.get('content-encoding')!);
    } catch (error) {
      throw refused(data, error);
    }
  }
  const init = { status: data.statusCode, statusText: data.statusText ?? '', headers };
  let response: Response;
  try {
    response = new UpstreamResponse(body, init, url, false, signal);
  } catch (error) {
    if (init.statusText === '') throw refused(data, error);
    // A reason phrase the Response class refuses (a control byte, a character above
    // U+00FF) says nothing the status does not: the answer goes on without it, where
    // fetch would keep it.
    init.statusText = '';
    try {
      response = new UpstreamResponse(body, init, url, false, signal);
    } catch {
      throw refused(data, error);
    }
  }
  if (body !== null) releaseWhenCollected(response, body, data.headers['content-length']);
  return response;
}

/**
 * An answer that cannot be made a Response (a status such as 600, too many content
 * codings) fails the call. Destroyed undici bodies emit an error: without a listener it
 * would crash the process.
 */
function refused(data: Dispatcher.ResponseData, error: unknown): TypeError {
  data.body.on('error', ignore).destroy();
  return new TypeError('fetch failed', { cause: error });
}

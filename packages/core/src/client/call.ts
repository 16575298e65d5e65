import { raiseListenerLimit } from '#platform';
import type { AbortGroup, AbortLike } from '../shared/abort.js';
import { ConfigError } from '../shared/errors.js';
import { bufferRequestBody } from '../transport/request-body.js';
import type { CallDispatcher } from '../transport/transport.js';
import { callReferrer, clientReferrer } from './referrer.js';

/** What one call sends, prepared once and reused by redirects and the replay. */
export interface Call {
  method: string;
  /** The caller's and the client's headers; credentials are added per request. */
  headers: Record<string, string>;
  body: RequestInit['body'] | undefined;
  signal: AbortLike | undefined;
  /** The adapter's group of the downstream request, told of a login failure the call met. */
  group: AbortGroup | undefined;
  redirect: RequestRedirect;
  replayable: boolean;
  /** fetch's `init.dispatcher` (undici's option): the call goes through it. */
  dispatcher: CallDispatcher | undefined;
  /** Header names as the caller wrote them where not lower-case (fetch sends them so). */
  spelling: Record<string, string> | undefined;
  /** fetch's `integrity` (integrity.ts): '' for none. */
  integrity: string;
  /** The referrer its requests' `Referer` comes from (referrer.ts); none: `undefined`. */
  referrer: URL | undefined;
  referrerPolicy: ReferrerPolicy;
}

const defaultReferrerPolicy: ReferrerPolicy = 'strict-origin-when-cross-origin';

/** `RequestInit` with undici's own option, which fetch on Node takes. */
export type FetchInit = RequestInit & { dispatcher?: CallDispatcher | null | undefined };

/**
 * Method, headers, body and signal of a call, checked. With no `init`, one object is made
 * and nothing copied; the caller's headers are copied only when given, after checking
 * that none of them is a credential the strategy sets (`headerNames`).
 */
export function prepareCall(
  init: FetchInit | undefined,
  group: AbortGroup | undefined,
  baseHeaders: Record<string, string>,
  headerNames: readonly string[],
): Call {
  if (init == null) {
    return {
      method: 'GET',
      headers: baseHeaders,
      body: undefined,
      signal: group,
      group,
      redirect: 'follow',
      replayable: true,
      dispatcher: undefined,
      spelling: undefined,
      integrity: '',
      referrer: clientReferrer(),
      referrerPolicy: defaultReferrerPolicy,
    };
  }
  let headers = baseHeaders;
  let spelling: Record<string, string> | undefined;
  if (init.headers !== undefined) {
    const given = new Headers(init.headers);
    for (const name of headerNames) {
      if (given.has(name)) {
        throw new ConfigError(
          [{ path: `init.headers.${name}`, message: 'is set by tokenfetch; remove it' }],
          'invalid call',
        );
      }
    }
    headers = { ...baseHeaders, ...headersRecord(given) };
    spelling = namesAsGiven(init.headers);
  }
  // fetch takes only null for `window` (there is no window to name on a server).
  if ((init as { window?: unknown }).window != null) {
    throw new TypeError("RequestInit: Expected 'window' to be null.");
  }
  const method = normalizeMethod(init.method);
  if (init.body != null && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError('Request with GET/HEAD method cannot have body.');
  }
  const given =
    init.referrer === undefined && init.referrerPolicy === undefined
      ? undefined
      : callReferrer(init.referrer, init.referrerPolicy);
  const caller = init.signal ?? undefined;
  if (caller !== undefined) raiseListenerLimit(caller);
  return {
    method,
    headers,
    body: init.body,
    signal:
      caller === undefined
        ? group
        : group === undefined
          ? caller
          : AbortSignal.any([caller, group.signal]),
    group,
    redirect: init.redirect ?? 'follow',
    replayable: isReplayable(init.body),
    dispatcher: dispatcherOf(init.dispatcher),
    spelling,
    integrity: init.integrity ?? '',
    referrer: given === undefined ? clientReferrer() : given.referrer,
    referrerPolicy: given === undefined ? defaultReferrerPolicy : given.policy,
  };
}

/**
 * The names of headers given as an object or as pairs, where the caller did not write them
 * in lower case; the first spelling of a name wins, as in fetch's header list. A `Headers`
 * object's spelling cannot be read (it keeps it private): its names go lower-case.
 */
function namesAsGiven(headers: HeadersInit): Record<string, string> | undefined {
  if (headers instanceof Headers) return undefined;
  const pairs: Iterable<unknown> | undefined =
    Symbol.iterator in headers ? (headers as Iterable<unknown>) : undefined;
  const names = pairs === undefined ? Object.keys(headers) : undefined;
  let out: Record<string, string> | undefined;
  let seen: Set<string> | undefined;
  const visit = (name: string) => {
    const lower = name.toLowerCase();
    if (seen?.has(lower)) return;
    (seen ??= new Set()).add(lower);
    if (lower !== name) (out ??= {})[lower] = name;
  };
  if (names !== undefined) for (const name of names) visit(name);
  else for (const pair of pairs!) visit(String((pair as unknown[])[0]));
  return out;
}

/** A call's dispatcher, checked as fetch would find out when using it. */
function dispatcherOf(dispatcher: unknown): CallDispatcher | undefined {
  if (dispatcher == null) return undefined;
  if (typeof (dispatcher as Partial<CallDispatcher>).dispatch !== 'function') {
    throw new TypeError('fetch failed: init.dispatcher must be an undici Dispatcher (dispatch())');
  }
  return dispatcher as CallDispatcher;
}

/**
 * The dispatcher a `Request` was made with (`new Request(url, { dispatcher })`), where the
 * runtime lets it be read: Node 20's undici keeps it under a symbol; Node 22 and later keep
 * it private, so there only `init.dispatcher` can carry one.
 */
function requestDispatcher(request: Request): CallDispatcher | undefined {
  if (dispatcherSymbol === null) return undefined;
  dispatcherSymbol ??=
    Object.getOwnPropertySymbols(request).find((symbol) => symbol.description === 'dispatcher') ??
    null;
  if (dispatcherSymbol === null) return undefined;
  const dispatcher = (request as unknown as Record<symbol, unknown>)[dispatcherSymbol];
  return typeof (dispatcher as Partial<CallDispatcher> | undefined)?.dispatch === 'function'
    ? (dispatcher as CallDispatcher)
    : undefined;
}
let dispatcherSymbol: symbol | null | undefined;

/**
 * The headers every call starts from: the client's `headers`, and on the undici path the
 * ones Node's fetch adds itself, so that an upstream sees the same request either way.
 */
export function fetchDefaultHeaders(
  defaults: Headers | undefined,
  addFetchHeaders: boolean,
): Record<string, string> {
  const headers: Record<string, string> = addFetchHeaders
    ? {
        accept: '*/*',
        'accept-language': '*',
        'sec-fetch-mode': 'cors',
        'user-agent': 'node',
        'accept-encoding': 'gzip, deflate',
      }
    : {};
  return Object.freeze({ ...headers, ...headersRecord(defaults) });
}

/**
 * Headers as the transports send them. A `host` is left out, from the `headers` option, a
 * call or a login alike: fetch does not let anyone address another virtual host over the
 * base URL's connection.
 */
export function headersRecord(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, name) => {
    if (name !== 'host') out[name] = value;
  });
  return out;
}

/** fetch's method normalization: the six standard methods upper-cased, others as given. */
export function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  if (!methodToken.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
  const upper = method.toUpperCase();
  // fetch refuses these: TRACE/TRACK echo the request (the token with it), CONNECT tunnels.
  if (forbiddenMethods.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
  return standardMethods.has(upper) ? upper : method;
}

const standardMethods = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const forbiddenMethods = new Set(['CONNECT', 'TRACE', 'TRACK']);
const methodToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Bodies fetch can send twice; a stream is read once. */
function isReplayable(body: RequestInit['body'] | undefined): boolean {
  if (body == null || typeof body === 'string') return true;
  return (
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

export function isRequest(input: unknown): input is Request {
  return input instanceof Request;
}

/**
 * A `Request` input, as `fetch(new Request(input, init))` would take it. Its body is
 * buffered (up to `limit`) so that it can be replayed after a re-login.
 */
export async function fromRequest(
  input: Request,
  init: FetchInit | undefined,
  limit: number,
  timeoutMs: number,
): Promise<{ url: string; init: FetchInit }> {
  const request = init === undefined ? input : new Request(input, init);
  // The caller's own signal: a new Request's signal follows it only while that Request
  // lives (undici holds it weakly), and the new Request is dropped here.
  const signal = init?.signal === undefined ? input.signal : init.signal;
  const body =
    request.body === null
      ? null
      : ((await bufferRequestBody(request.body, limit, {
          signal,
          timeoutMs,
        })) as unknown as BodyInit);
  return {
    url: request.url,
    init: {
      method: request.method,
      headers: request.headers,
      body,
      signal,
      redirect: request.redirect,
      dispatcher: init?.dispatcher ?? requestDispatcher(input),
      referrer: request.referrer,
      referrerPolicy: request.referrerPolicy,
      integrity: request.integrity,
    },
  };
}

export function describeInput(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

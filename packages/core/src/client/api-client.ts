import {
  createDefaultTransport,
  defaultTransport,
  discardResponse,
  markRedirected,
} from '#platform';
import { settle, startCall, type AbortGroup, type AbortLike } from '../shared/abort.js';
import { secretsOf, type ApiKeyAuthStrategy } from '../auth/auth-strategies.js';
import { defaults } from '../shared/defaults.js';
import {
  ClientClosedError,
  ConfigError,
  CrossOriginError,
  InvalidResponseError,
  UpstreamError,
} from '../shared/errors.js';
import { createEmitter, type TokenFetchEvent } from '../shared/events.js';
import { deriveIdentity, impersonationCacheSize, type AsOptions } from '../auth/identity.js';
import { parseOptions, type ApiClientOptions, type ResolvedOptions } from './options.js';
import { scrubSecrets } from '../guards/redact.js';
import { bufferRequestBody } from '../transport/request-body.js';
import { createDenials } from './denials.js';
import { createUrlScope, isInside, resolveUrl, type UrlScope } from '../guards/resolve-url.js';
import { createTokenManager, type TokenManager } from '../engine/token-manager.js';
import { storeKey } from '../engine/store-key.js';
import {
  createFetchTransport,
  toTarget,
  type ClientTransport,
  type Target,
  type Transport,
} from '../transport/transport.js';

/** A schema `client.json()` can validate with: any zod schema (or anything with `parse`). */
export interface ResponseSchema<T> {
  parse(data: unknown): T;
}

/** `fetch`, authenticated: the signature of `client.fetch`, `req.apiFetch` and `ctx.apiFetch`. */
export type ApiFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** An authenticated fetch bound to one upstream. */
export interface ApiClient {
  /**
   * `fetch`, authenticated: a path resolves under the base URL, the token (or API key) is
   * added, a 401/403 on the current token triggers one re-login and one replay.
   * Returns the WHATWG `Response`, whatever its status.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Fetches and parses JSON; a non-2xx answer is an `UpstreamError`. With `schema`, the
   * data is validated (`schema.parse`) and typed by it.
   */
  json<T = unknown>(
    input: string | URL | Request,
    init?: RequestInit & { schema?: ResponseSchema<T> },
  ): Promise<T>;
  /** The current session token (logging in if needed). Session auth only. */
  getToken(options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The same credentials acting as someone else, sharing this client's options, connections
   * and store: `{ orgId }` (session auth) the same user in another org, with its own token
   * and single-flight; `{ impersonateUserId }` (API key) every call sends
   * `impersonate-user-id`. Made once per org or user and reused; `as()` on a derived client
   * acts from the original credentials. Options that do not fit the auth throw `ConfigError`.
   * @example const inOrg43 = client.as({ orgId: 43 });
   */
  as(options: AsOptions): ApiClient;
  /**
   * Ends background work and every call in flight (each rejects with `ClientClosedError`),
   * and resolves once they have settled; later calls reject with `ClientClosedError`. A
   * `dispatcher` you passed is left open. Closes the clients made by `as()` too; closing
   * one of those ends only its own token (its calls go on over the shared connections).
   */
  close(): Promise<void>;
}

/**
 * What a client and the clients made from it by `as()` share: the transport (one undici
 * Agent), the parsed options and headers, the resolved paths; made once, by the root.
 */
interface Family {
  readonly resolved: ResolvedOptions;
  readonly channel: ClientTransport;
  readonly baseHeaders: Record<string, string>;
  readonly targets: { resolve(input: string | URL): Target };
  readonly scope: UrlScope;
  /** `as()` clients by org (few per user, kept) and by impersonated user (bounded). */
  readonly orgs: Map<string, ApiClient>;
  readonly impersonations: Map<string, ApiClient>;
  /** The root client: `as()` its own org answers it. */
  client: ApiClient | undefined;
  closed: boolean;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 5;
const excerptLength = 300;
const replayBufferBytes = defaults.replayBufferBytes;
const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * Creates the authenticated fetch. Options are validated here, once; a problem throws one
 * `ConfigError` listing every field at fault.
 *
 * @example
 * const client = createApiClient({
 *   baseUrl: 'https://acme.resolver.com/api',
 *   auth: { email: 'me@acme.com', password: process.env.API_PASSWORD!, orgId: 42 },
 * });
 * const me = await client.json('/user/users/me');
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  return buildClient(parseOptions(options), undefined);
}

/** A client for `auth`; with `family`, one made by `as()` on the family's root. */
function buildClient(resolved: ResolvedOptions, family: Family | undefined): ApiClient {
  const { auth, timeoutMs, reauthStatuses } = resolved;
  const now = resolved.now ?? Date.now;
  const scope = family?.scope ?? createUrlScope(resolved.baseUrl, resolved.allowedOrigins);
  const defaultHeaders = resolved.headers === undefined ? undefined : new Headers(resolved.headers);
  const reauth = new Set(reauthStatuses);
  const secrets = secretsOf(auth);
  const key = auth.kind === 'session' ? storeKey(scope.base.href, auth.identity) : '';
  // Every event says which client it comes from (an API-key client has no token, so no
  // events); events are rare, never on the hot path.
  const origin = { serverAddress: scope.base.hostname, clientId: key.slice(0, 16) };
  const report = createEmitter(resolved.onEvent);
  const emit = (event: TokenFetchEvent) => report({ ...event, ...origin });
  // undici's dispatcher unless the caller brings a fetch of their own (then every call and
  // the login go through it, as before).
  const channel: ClientTransport = family
    ? family.channel
    : resolved.fetch === undefined
      ? createDefaultTransport(timeoutMs, resolved.dispatcher)
      : createFetchTransport(resolved.fetch, timeoutMs);
  const transport = channel.send;
  const baseHeaders =
    family?.baseHeaders ??
    fetchDefaultHeaders(
      defaultHeaders,
      resolved.fetch === undefined && defaultTransport === 'undici',
    );
  const targets = family?.targets ?? createTargetCache(scope);
  const root: Family = family ?? {
    resolved,
    channel,
    baseHeaders,
    targets,
    scope,
    orgs: new Map(),
    impersonations: new Map(),
    client: undefined,
    closed: false,
  };
  // The password goes inside the base URL only, whatever the strategy asks for.
  const loginFetch = insideOnly(
    scope,
    resolved.fetch ?? transportFetch(transport, resolved.loginTimeoutMs),
  );

  const manager: TokenManager | undefined =
    auth.kind === 'session'
      ? createTokenManager({
          login: ({ signal }) =>
            auth.login({
              baseUrl: scope.base,
              fetch: loginFetch,
              signal,
              headers: new Headers(defaultHeaders),
              now,
            }),
          ttlMs: auth.ttlMs,
          refreshAheadMs: resolved.refreshAheadMs,
          loginTimeoutMs: resolved.loginTimeoutMs,
          loginRetries: resolved.loginRetries,
          loginCooldownMs: resolved.loginCooldownMs,
          ...(resolved.store === undefined ? {} : { store: resolved.store }),
          key,
          onEvent: emit,
          now,
        })
      : undefined;
  const apiKeyHeaders =
    auth.kind === 'apiKey' ? headersRecord(applied(auth, new Headers())) : undefined;
  const denials = createDenials();
  let closed = false;
  let closing: Promise<void> | undefined;
  // Calls between their start and their answer (or failure), so that close() can wait for them.
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  /** Sends once, following redirects that stay inside the base URL; returns the last answer. */
  async function send(target: Target, call: Call, token: string | undefined): Promise<Response> {
    let method = call.method;
    let body = call.body;
    let headers = withCredentials(call.headers, token);
    for (let hops = 0; ; hops++) {
      const response = await transport(target, { method, headers, body, signal: call.signal });
      if (!redirectStatuses.has(response.status) || call.redirect === 'manual') {
        return hops === 0 ? response : markRedirected(response);
      }
      if (call.redirect === 'error') {
        await discardResponse(response);
        throw new TypeError(`fetch failed: redirect (${response.status}) with redirect: 'error'`);
      }
      const location = response.headers.get('location');
      const next = location === null ? undefined : safeUrl(location, target.url);
      const switchesToGet =
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST');
      if (
        next === undefined ||
        hops >= maxRedirects ||
        !isInside(scope, next) ||
        (!switchesToGet && !call.replayable)
      ) {
        return response;
      }
      await discardResponse(response);
      if (switchesToGet) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        headers = { ...headers };
        delete headers['content-type'];
        delete headers['content-length'];
      }
      target = toTarget(next);
    }
  }

  function withCredentials(
    headers: Record<string, string>,
    token: string | undefined,
  ): Record<string, string> {
    if (token !== undefined) return { ...headers, authorization: `Bearer ${token}` };
    return apiKeyHeaders === undefined ? headers : { ...headers, ...apiKeyHeaders };
  }

  /**
   * One call: the token, the request, and one replay after a re-login. Counted in flight
   * until it settles, for close() (an integer each way: no allocation on the per-call path).
   */
  async function attempt(
    target: Target,
    call: Call,
    token: string | undefined,
    sentWith: string[] | undefined,
  ): Promise<Response> {
    inFlight++;
    try {
      if (manager === undefined) return await send(target, call, undefined);
      token ??= await waitForToken(manager, call);
      sentWith?.push(token);
      const first = await send(target, call, token);
      if (!reauth.has(first.status)) return first;
      // A token that has already shown it gets this very answer here is not dropped again.
      if (denials.has(token, call.method, first, target)) return first;

      manager.invalidate(token);
      emit({ type: 'reauth', status: first.status, replayed: call.replayable });
      if (!call.replayable) return first;
      await discardResponse(first);
      const fresh = manager.peekToken() ?? (await waitForToken(manager, call));
      sentWith?.push(fresh);
      const second = await send(target, call, fresh);
      // Another token, the same answer: the token was not the problem (a permission 403).
      if (second.status === first.status && fresh !== token) {
        denials.remember(fresh, token, call.method, second, target);
      }
      return second;
    } finally {
      if (--inFlight === 0) onIdle?.();
    }
  }

  /** The wait for a login, ended by the caller's signal or after `timeoutMs`. */
  async function waitForToken(engine: TokenManager, call: Call): Promise<string> {
    const wait = startCall(timeoutMs, call.signal);
    try {
      return await engine.getToken({ signal: wait.signal });
    } finally {
      settle(wait);
    }
  }

  /**
   * `client.fetch`; `sentWith` collects the tokens the call was sent with, for redaction;
   * an adapter's `group` aborts the call when its downstream client leaves. Not `async`:
   * with a fresh token and a string path, nothing is awaited before the request is sent.
   */
  function clientFetch(
    input: string | URL | Request,
    init: RequestInit | undefined,
    sentWith?: string[],
    group?: AbortGroup,
  ): Promise<Response> {
    if (closed) return Promise.reject(new ClientClosedError());
    let target: Target;
    let call: Call;
    try {
      if (isRequest(input)) {
        // The URL is checked before the body is read: a refused call reads nothing.
        targets.resolve(input.url);
        return fromRequest(input, init ?? undefined, replayBufferBytes, timeoutMs).then((request) =>
          clientFetch(request.url, request.init, sentWith, group),
        );
      }
      target = targets.resolve(input);
      call = prepareCall(init ?? undefined, group);
    } catch (error) {
      return Promise.reject(error);
    }
    return attempt(target, call, manager?.peekToken(), sentWith);
  }

  /** Method, headers, body and signal of a call, checked; the caller's headers copied only if given. */
  function prepareCall(init: RequestInit | undefined, group: AbortGroup | undefined): Call {
    if (init == null) {
      return {
        method: 'GET',
        headers: baseHeaders,
        body: undefined,
        signal: group,
        redirect: 'follow',
        replayable: true,
      };
    }
    let headers = baseHeaders;
    if (init.headers !== undefined) {
      const given = new Headers(init.headers);
      for (const name of auth.headerNames) {
        if (given.has(name)) {
          throw new ConfigError(
            [{ path: `init.headers.${name}`, message: 'is set by tokenfetch; remove it' }],
            'invalid call',
          );
        }
      }
      headers = { ...baseHeaders, ...headersRecord(given) };
    }
    const method = normalizeMethod(init.method);
    if (init.body != null && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
    const caller = init.signal ?? undefined;
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
      redirect: init.redirect ?? 'follow',
      replayable: isReplayable(init.body),
    };
  }

  /**
   * The start of an error body, scrubbed of every secret. Only as much is scrubbed as can
   * reach into the excerpt: no encoded form of a secret is longer than 16 characters per
   * character of it.
   */
  function redactExcerpt(text: string, tokens: readonly string[]): string {
    const all = [...secrets, ...tokens];
    const longest = all.reduce((max, secret) => Math.max(max, secret.length), 0);
    const head = text.slice(0, excerptLength + 16 * longest);
    return scrubSecrets(head, all)
      .replace(/(bearer\s+)[\x21-\x7E]+/gi, '$1[redacted]')
      .slice(0, excerptLength);
  }

  const client: ApiClient = {
    fetch: (input, init) => clientFetch(input, init),
    async json<T>(
      input: string | URL | Request,
      init: RequestInit & { schema?: ResponseSchema<T> } = {},
    ) {
      const { schema, ...rest } = init;
      // A Request's own headers stay unless init replaces them, as with fetch.
      const headers = new Headers(rest.headers ?? (isRequest(input) ? input.headers : undefined));
      if (!headers.has('accept')) headers.set('accept', 'application/json');
      const sentWith: string[] = [];
      const response = await clientFetch(input, { ...rest, headers }, sentWith);
      const text = await response.text();
      const where = response.url === '' ? describeInput(input) : new URL(response.url).pathname;
      if (!response.ok) {
        // Scrubbed before it is cut, so that no beginning of a secret is left at the cut.
        const excerpt = redactExcerpt(text, sentWith);
        throw new UpstreamError(response.status, excerpt, where);
      }
      let data: unknown;
      try {
        data = text === '' ? undefined : JSON.parse(text);
      } catch {
        throw new InvalidResponseError(
          `upstream answered ${response.status} with a body that is not JSON (${where})`,
          response.status,
        );
      }
      if (schema === undefined) return data as T;
      try {
        return schema.parse(data);
      } catch (error) {
        throw new InvalidResponseError(
          `upstream answer did not match the schema (${where})`,
          response.status,
          { cause: error },
        );
      }
    },
    getToken(opts) {
      if (closed) return Promise.reject(new ClientClosedError());
      if (manager === undefined) {
        return Promise.reject(
          new ConfigError(
            [
              {
                path: 'auth',
                message: 'getToken() needs session auth; this client uses an API key',
              },
            ],
            'invalid call',
          ),
        );
      }
      return manager.getToken(opts);
    },
    as: (as) => clientAs(root, as),
    close() {
      if (closing !== undefined) return closing;
      closed = true;
      manager?.close();
      // A client made by as() shares the transport: it ends only its own token.
      if (family !== undefined) {
        forget(family, client);
        closing = Promise.resolve();
        return closing;
      }
      closing = closeFamily(root)
        .then(() => channel.close(new ClientClosedError()))
        .then(async () => {
          if (inFlight > 0) {
            await new Promise<void>((resolve) => {
              onIdle = resolve;
            });
          }
          // The calls' own handlers run first: close() resolves after they have seen the end.
          await new Promise((resolve) =>
            typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
          );
        });
      return closing;
    },
  };
  const describe = { baseUrl: scope.base.href, auth: auth.kind };
  Object.defineProperties(client, {
    toJSON: { value: () => describe },
    [inspect]: { value: () => `ApiClient ${JSON.stringify(describe)}` },
  });
  Object.defineProperty(client, grouped, {
    value: (input: string | URL | Request, init: RequestInit | undefined, group: AbortGroup) =>
      clientFetch(input, init, undefined, group),
  });
  root.client ??= client;
  return client;
}

/** `client.as(options)`: the family's client for that identity, made at its first use. */
function clientAs(family: Family, options: AsOptions): ApiClient {
  if (family.closed) throw new ClientClosedError();
  const { strategy, cacheKey, impersonating } = deriveIdentity(family.resolved.auth, options);
  // The same user in the org it logged in to is the root itself, with its token.
  const rootAuth = family.resolved.auth;
  if (strategy.kind === 'session' && rootAuth.kind === 'session') {
    if (strategy.identity === rootAuth.identity) return family.client!;
  }
  const cache = impersonating ? family.impersonations : family.orgs;
  let client = cache.get(cacheKey);
  if (client === undefined) {
    client = buildClient({ ...family.resolved, auth: strategy }, family);
    // An impersonating client holds no token, so dropping the oldest from the cache costs
    // nothing to whoever still uses it.
    if (impersonating && cache.size >= impersonationCacheSize) {
      cache.delete(cache.keys().next().value!);
    }
    cache.set(cacheKey, client);
  }
  return client;
}

function forget(family: Family, client: ApiClient): void {
  for (const cache of [family.orgs, family.impersonations]) {
    for (const [key, value] of cache) if (value === client) cache.delete(key);
  }
}

async function closeFamily(family: Family): Promise<void> {
  family.closed = true;
  const derived = [...family.orgs.values(), ...family.impersonations.values()];
  family.orgs.clear();
  family.impersonations.clear();
  await Promise.all(derived.map((client) => client.close()));
}

/** A tokenfetch client's `fetch` whose call an adapter's `AbortGroup` can abort. */
export type GroupedFetch = (
  input: string | URL | Request,
  init: RequestInit | undefined,
  group: AbortGroup,
) => Promise<Response>;

/** Where a client made here keeps its grouped `fetch`; not part of the public API. */
const grouped = Symbol('tokenfetch.groupedFetch');

/** Gives a client that wraps core's clients (the pool's, `as()` at request time) a grouped `fetch`. */
export function setGroupedFetch(client: ApiClient, fetch: GroupedFetch): void {
  Object.defineProperty(client, grouped, { value: fetch });
}

/**
 * For the adapters: the grouped `fetch` of a client made by this copy of core. A client
 * from elsewhere (a wrapper, another installed copy) has none and gets an AbortSignal.
 */
export function groupedFetchOf(client: ApiClient): GroupedFetch | undefined {
  return (client as { [grouped]?: GroupedFetch })[grouped];
}

/** What one call sends, prepared once and reused by redirects and the replay. */
interface Call {
  method: string;
  headers: Record<string, string>;
  body: RequestInit['body'] | undefined;
  signal: AbortLike | undefined;
  redirect: RequestRedirect;
  replayable: boolean;
}

/**
 * The headers every call starts from: the client's `headers`, and on the undici path the
 * ones Node's fetch adds itself, so that an upstream sees the same request either way.
 */
function fetchDefaultHeaders(
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
function headersRecord(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, name) => {
    if (name !== 'host') out[name] = value;
  });
  return out;
}

function applied(auth: ApiKeyAuthStrategy, headers: Headers): Headers {
  auth.apply(headers);
  return headers;
}

/** fetch's method normalization: the six standard methods upper-cased, others as given. */
function normalizeMethod(method: string | undefined): string {
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

/**
 * Resolved targets of string paths, so that a path called again is not parsed and checked
 * again. Bounded: it starts over when full (paths with ids in them are many).
 */
function createTargetCache(scope: UrlScope): { resolve(input: string | URL): Target } {
  const cache = new Map<string, Target>();
  return {
    resolve(input) {
      if (typeof input !== 'string') return toTarget(resolveUrl(scope, input));
      let target = cache.get(input);
      if (target === undefined) {
        target = toTarget(resolveUrl(scope, input));
        if (cache.size >= targetCacheSize) cache.clear();
        cache.set(input, target);
      }
      return target;
    },
  };
}

const targetCacheSize = 1_000;

/**
 * A `fetch` over a transport, for a strategy's login: no redirects followed, no replay,
 * timed by `loginTimeoutMs`, not by the calls' `timeoutMs`.
 */
function transportFetch(transport: Transport, loginTimeoutMs: number): typeof fetch {
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = headersRecord(new Headers(init.headers));
    return transport(toTarget(url), {
      method: normalizeMethod(init.method),
      headers,
      body: init.body,
      signal: init.signal ?? undefined,
      timeoutMs: loginTimeoutMs,
    });
  };
}

/** `fetch`, refusing (with `CrossOriginError`, before any I/O) a URL outside the base URL. */
function insideOnly(scope: UrlScope, fetchImpl: typeof fetch): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!isInside(scope, url)) {
      return Promise.reject(
        new CrossOriginError(
          `refused to send the login to ${url.origin}${url.origin === scope.origin ? ' outside the base path' : ''}: it goes inside the base URL only`,
        ),
      );
    }
    return fetchImpl(input, init);
  };
}

function isRequest(input: unknown): input is Request {
  return input instanceof Request;
}

/**
 * A `Request` input, as `fetch(new Request(input, init))` would take it. Its body is
 * buffered (up to `limit`) so that it can be replayed after a re-login.
 */
async function fromRequest(
  input: Request,
  init: RequestInit | undefined,
  limit: number,
  timeoutMs: number,
): Promise<{ url: string; init: RequestInit }> {
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
    },
  };
}

function describeInput(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

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

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

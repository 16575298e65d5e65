import { secretsOf } from './auth-strategies.js';
import { settle, startCall, type AbortGroup } from './call-signal.js';
import { ClientClosedError, ConfigError, InvalidResponseError, UpstreamError } from './errors.js';
import { createEmitter, type TokenFetchEvent } from './events.js';
import { credentialHeaders, parseOptions, type ApiClientOptions } from './options.js';
import { createUrlScope, isInside, resolveUrl } from './resolve-url.js';
import { createTokenManager, type TokenManager } from './token-manager.js';
import { storeKey } from './store-key.js';

/** A schema `client.json()` can validate with: any zod schema (or anything with `parse`). */
export interface ResponseSchema<T> {
  parse(data: unknown): T;
}

/** An authenticated fetch bound to one upstream. */
export interface ApiClient {
  /**
   * `fetch`, authenticated: a path resolves under the base URL, the token (or API key) is
   * added, a 401/403 on the current token triggers one re-login and one replay.
   * Returns the WHATWG `Response`, whatever its status.
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /**
   * Fetches and parses JSON; a non-2xx answer is an `UpstreamError`. With `schema`, the
   * data is validated (`schema.parse`) and typed by it.
   */
  json<T = unknown>(
    input: string | URL,
    init?: RequestInit & { schema?: ResponseSchema<T> },
  ): Promise<T>;
  /** The current session token (logging in if needed). Session auth only. */
  getToken(options?: { signal?: AbortSignal }): Promise<string>;
  /** Ends background work; later calls reject with `ClientClosedError`. */
  close(): Promise<void>;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 5;
const excerptLength = 300;
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
  const resolved = parseOptions(options);
  const { auth, timeoutMs, reauthStatuses } = resolved;
  const fetchImpl = resolved.fetch ?? globalThis.fetch;
  const now = resolved.now ?? Date.now;
  const scope = createUrlScope(resolved.baseUrl, resolved.allowedOrigins);
  const defaultHeaders = resolved.headers === undefined ? undefined : new Headers(resolved.headers);
  const forbidden = credentialHeaders(auth);
  const reauth = new Set(reauthStatuses);
  const secrets = secretsOf(auth);
  const key = auth.kind === 'session' ? storeKey(scope.base.href, auth.identity) : '';
  // Every event says which client it comes from (an API-key client has no token, so no
  // events); events are rare, never on the hot path.
  const origin = { serverAddress: scope.base.hostname, clientId: key.slice(0, 16) };
  const report = createEmitter(resolved.onEvent);
  const emit = (event: TokenFetchEvent) => report({ ...event, ...origin });

  const manager: TokenManager | undefined =
    auth.kind === 'session'
      ? createTokenManager({
          login: ({ signal }) =>
            auth.login({
              baseUrl: scope.base,
              fetch: fetchImpl,
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
  let closed = false;

  /** Sends once, following redirects that stay inside the base URL; returns the last answer. */
  async function send(
    url: URL,
    init: RequestInit,
    headers: Headers,
    signal: AbortSignal,
    replayable: boolean,
  ): Promise<Response> {
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    for (let hops = 0; ; hops++) {
      const response = await fetchImpl(url, {
        ...init,
        method,
        body: body ?? null,
        headers,
        signal,
        redirect: 'manual',
      });
      if (!redirectStatuses.has(response.status) || init.redirect === 'manual') return response;
      if (init.redirect === 'error') {
        await response.body?.cancel();
        throw new TypeError(`fetch failed: redirect (${response.status}) with redirect: 'error'`);
      }
      const location = response.headers.get('location');
      const next = location === null ? undefined : safeUrl(location, url);
      const switchesToGet =
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST');
      if (
        next === undefined ||
        hops >= maxRedirects ||
        !isInside(scope, next) ||
        (!switchesToGet && !replayable)
      ) {
        return response;
      }
      await response.body?.cancel();
      if (switchesToGet) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        // A copy: a replay after re-login starts over with the caller's headers.
        headers = new Headers(headers);
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next;
    }
  }

  function withCredentials(headers: Headers, token: string | undefined): Headers {
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    else if (auth.kind === 'apiKey') auth.apply(headers);
    return headers;
  }

  /**
   * `client.fetch`; `sentWith` collects the tokens the call was sent with, for redaction;
   * an adapter's `group` aborts the call when its downstream client leaves.
   */
  async function clientFetch(
    input: string | URL,
    init: RequestInit = {},
    sentWith?: string[],
    group?: AbortGroup,
  ): Promise<Response> {
    if (closed) throw new ClientClosedError();
    const url = resolveUrl(scope, input);
    const headers = mergeHeaders(defaultHeaders, init.headers);
    for (const name of forbidden) {
      if (headers.has(name)) {
        throw new ConfigError(
          [{ path: `init.headers.${name}`, message: 'is set by tokenfetch; remove it' }],
          'invalid call',
        );
      }
    }
    const replayable = isReplayable(init.body);
    // Not AbortSignal.timeout/any per call: on Node 20 they cost more than the rest of the
    // call together (see bench/README.md). The timeout covers the token wait, the request,
    // redirects and the replay, until the answer's headers are in.
    const call = startCall(timeoutMs, init.signal, group);
    const { signal } = call;
    try {
      if (manager === undefined) {
        return await send(url, init, withCredentials(headers, undefined), signal, replayable);
      }
      const token = await manager.getToken({ signal });
      sentWith?.push(token);
      const first = await send(url, init, withCredentials(headers, token), signal, replayable);
      if (!reauth.has(first.status)) return first;

      manager.invalidate(token);
      emit({ type: 'reauth', status: first.status, replayed: replayable });
      if (!replayable) return first;
      await first.body?.cancel();
      const fresh = await manager.getToken({ signal });
      sentWith?.push(fresh);
      return await send(url, init, withCredentials(headers, fresh), signal, replayable);
    } finally {
      settle(call);
    }
  }

  function redact(text: string, tokens: readonly string[] = []): string {
    let out = text;
    for (const secret of [...secrets, ...tokens]) {
      if (secret !== '') out = out.split(secret).join('[redacted]');
    }
    return out.replace(/(bearer\s+)[\x21-\x7E]+/gi, '$1[redacted]');
  }

  const client: ApiClient = {
    fetch: (input, init) => clientFetch(input, init),
    async json<T>(input: string | URL, init: RequestInit & { schema?: ResponseSchema<T> } = {}) {
      const { schema, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('accept')) headers.set('accept', 'application/json');
      const sentWith: string[] = [];
      const response = await clientFetch(input, { ...rest, headers }, sentWith);
      const text = await response.text();
      const where = `${response.url === '' ? String(input) : new URL(response.url).pathname}`;
      if (!response.ok) {
        // Scrubbed before it is cut, so that no beginning of a secret is left at the cut.
        const excerpt = redact(text, sentWith).slice(0, excerptLength);
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
    close() {
      closed = true;
      manager?.close();
      return Promise.resolve();
    },
  };
  const describe = { baseUrl: scope.base.href, auth: auth.kind };
  Object.defineProperties(client, {
    toJSON: { value: () => describe },
    [inspect]: { value: () => `ApiClient ${JSON.stringify(describe)}` },
  });
  groupedFetch.set(client, (input, init, group) => clientFetch(input, init, undefined, group));
  return client;
}

/** A tokenfetch client's `fetch` whose call an adapter's `AbortGroup` can abort. */
export type GroupedFetch = (
  input: string | URL,
  init: RequestInit | undefined,
  group: AbortGroup,
) => Promise<Response>;

/**
 * For `createApiFetchBinder`: the grouped `fetch` of each client made here. A client from
 * elsewhere (a wrapper, another installed copy) is not in it and gets an AbortSignal.
 */
export const groupedFetch = new WeakMap<ApiClient, GroupedFetch>();

function mergeHeaders(defaults: Headers | undefined, extra: HeadersInit | undefined): Headers {
  const headers = new Headers(defaults);
  if (extra !== undefined) new Headers(extra).forEach((value, name) => headers.set(name, value));
  return headers;
}

/** Bodies fetch can send twice; a stream is read once. */
function isReplayable(body: RequestInit['body']): boolean {
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

import type { LoginContext, SessionAuthStrategy } from '../auth/strategy.js';
import type { LoginAttemptContext } from '../engine/engine.js';
import type { LoginResult } from '../engine/token-store.js';
import { isInside, type UrlScope } from '../guards/resolve-url.js';
import { isInsecure } from '../guards/secure-url.js';
import { CrossOriginError } from '../shared/errors.js';
import { toTarget, type Transport } from '../transport/transport.js';
import { headersRecord, normalizeMethod } from './call.js';

/** What the login of a client needs besides its strategy. */
export interface LoginSetup {
  scope: UrlScope;
  /** The `fetch` option, or the client's transport as a fetch (`transportFetch`). */
  fetch: typeof globalThis.fetch;
  /** The client's `headers`. */
  headers: Headers | undefined;
  allowInsecureHttp: boolean;
  now: () => number;
}

/**
 * The token engine's `login` for `strategy`: each attempt gets a `fetch` that reaches only
 * where the strategy may send its secret. A strategy without `loginUrl` logs in inside the
 * base URL; one with `loginUrl` at that URL's origin only (a function is asked at each
 * login, e.g. after discovery, and its answer checked like a URL given in the options).
 * Neither is ever trusted with the tokens: calls go inside the base URL and
 * `allowedOrigins` only.
 */
export function createLogin(
  strategy: SessionAuthStrategy,
  setup: LoginSetup,
): (context: LoginAttemptContext) => Promise<LoginResult> {
  const { scope, fetch, allowInsecureHttp } = setup;
  const insideBase = confined(
    fetch,
    (url) => isInside(scope, url),
    (url) =>
      `${url.origin}${url.origin === scope.origin ? ' outside the base path' : ''}: it goes inside the base URL only`,
  );
  const context = (
    { signal, state }: LoginAttemptContext,
    loginUrl: URL | undefined,
  ): LoginContext => ({
    baseUrl: scope.base,
    fetch:
      loginUrl === undefined
        ? insideBase
        : confined(
            fetch,
            (url) => url.origin === loginUrl.origin,
            (url) => `${url.origin}: it goes to ${loginUrl.origin} only`,
          ),
    loginUrl,
    signal,
    headers: new Headers(setup.headers),
    now: setup.now,
    state,
  });
  const { loginUrl } = strategy;
  if (loginUrl === undefined) return (attempt) => strategy.login(context(attempt, undefined));
  if (typeof loginUrl === 'string') {
    // Checked at client creation (options.ts): absolute, and https unless on loopback.
    const url = new URL(loginUrl);
    return (attempt) => strategy.login(context(attempt, url));
  }
  const discovery = { fetch: publicFetch(fetch, allowInsecureHttp) };
  return async (attempt) => {
    const found = await loginUrl({ ...discovery, signal: attempt.signal });
    const url = checkedLoginUrl(found, allowInsecureHttp);
    return strategy.login(context(attempt, url));
  };
}

/** A discovered login URL, held to the rule of one given in the options. */
function checkedLoginUrl(found: string | URL, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(found);
  } catch {
    throw new CrossOriginError('refused to log in: the login URL found is not an absolute URL');
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    isInsecure(url, allowInsecureHttp)
  ) {
    throw new CrossOriginError(
      `refused to send the login to ${url.origin}: it must be https (plain http only to loopback hosts)`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new CrossOriginError('refused to log in: the login URL found carries user info');
  }
  return url;
}

/** `fetch`, refusing (with `CrossOriginError`, before any I/O) a URL `allowed` refuses. */
function confined(
  fetchImpl: typeof globalThis.fetch,
  allowed: (url: URL) => boolean,
  refusal: (url: URL) => string,
): typeof globalThis.fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!allowed(url)) {
      return Promise.reject(new CrossOriginError(`refused to send the login to ${refusal(url)}`));
    }
    return fetchImpl(input, init);
  };
}

/**
 * The `fetch` of discovery: GET (or HEAD) only, without a body, to an https URL (plain
 * http only to loopback hosts). It carries the client's `headers` and no credential.
 */
function publicFetch(
  fetchImpl: typeof globalThis.fetch,
  allowInsecureHttp: boolean,
): typeof globalThis.fetch {
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = normalizeMethod(init.method);
    if ((method !== 'GET' && method !== 'HEAD') || init.body != null) {
      return Promise.reject(
        new CrossOriginError('refused: discovery may only GET public metadata, without a body'),
      );
    }
    if (
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      isInsecure(url, allowInsecureHttp)
    ) {
      return Promise.reject(
        new CrossOriginError(
          `refused to fetch ${url.origin}: discovery must be https (plain http only to loopback hosts)`,
        ),
      );
    }
    return fetchImpl(url, { ...init, method, redirect: 'manual' });
  };
}

/**
 * A `fetch` over a transport, for a strategy's login: no redirects followed, no replay,
 * timed by `loginTimeoutMs`, not by the calls' `timeoutMs`.
 */
export function transportFetch(
  transport: Transport,
  loginTimeoutMs: number,
): typeof globalThis.fetch {
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

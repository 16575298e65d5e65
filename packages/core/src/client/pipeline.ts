import { discardResponse, markRedirected, timeAnswer } from '#platform';
import { bearerAuthorization, type AuthStrategy, type CallCredentials } from '../auth/strategy.js';
import type { TokenManager } from '../engine/token-manager.js';
import { isInside, type UrlScope } from '../guards/resolve-url.js';
import { settle, startCall, type AbortGroup } from '../shared/abort.js';
import { defaults } from '../shared/defaults.js';
import { ClientClosedError } from '../shared/errors.js';
import type { TokenFetchEvent } from '../shared/events.js';
import { toTarget, type Target, type Transport } from '../transport/transport.js';
import { fromRequest, headersRecord, isRequest, prepareCall, type Call } from './call.js';
import { createDenials, type Denials } from './denials.js';
import { checkIntegrity } from './integrity.js';
import { determineReferrer, redirectPolicy } from './referrer.js';
import type { Drain } from './drain.js';
import type { TargetCache } from './targets.js';

/** What the call pipeline of one client is made of. */
export interface PipelineParts {
  transport: Transport;
  scope: UrlScope;
  targets: TargetCache;
  /** The headers every call starts from (`fetchDefaultHeaders`). */
  baseHeaders: Record<string, string>;
  strategy: AuthStrategy;
  /** The token engine of a token strategy; none for an API key. */
  manager: TokenManager | undefined;
  reauthStatuses: readonly number[];
  timeoutMs: number;
  /** Whether each call makes fetch's resource-timing entry (`resourceTiming`). */
  resourceTiming: boolean;
  emit: (event: TokenFetchEvent) => void;
  /**
   * A client that may be closed once drained (a pool's, or one made by `as()`) counts its
   * calls and watches each request's answer until it is done with; others pay nothing.
   */
  drain: Drain | undefined;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** The timeline's clock, looked up once (Node's global `performance` is a getter). */
const clock = performance;
const maxRedirects = 5;

/**
 * One client's calls, from what the caller passed to the upstream's last answer:
 * **target** (the URL, checked against the base URL) → **call** (method, headers, body,
 * signal) → **attempt** (the token, the request, and at most one replay after a re-login)
 * → **send** (the request with its credentials, following redirects that stay inside the
 * base URL). Made once per client; nothing in it is allocated per call beyond the call
 * itself. With a fresh token and a string path nothing is awaited before the request is
 * sent.
 */
export class CallPipeline {
  readonly #transport: Transport;
  readonly #scope: UrlScope;
  readonly #targets: TargetCache;
  readonly #baseHeaders: Record<string, string>;
  readonly #headerNames: readonly string[];
  readonly #manager: TokenManager | undefined;
  readonly #reauth: ReadonlySet<number>;
  readonly #timeoutMs: number;
  readonly #resourceTiming: boolean;
  readonly #emit: (event: TokenFetchEvent) => void;
  readonly #denials: Denials = createDenials();
  /** A token strategy's credentials for a token; the API key's headers otherwise. */
  readonly #authorize:
    | ((token: string, method: string, url: string) => CallCredentials | Promise<CallCredentials>)
    | undefined;
  readonly #challenge: ((response: Response, token: string) => 'reauth' | 'retry') | undefined;
  readonly #observe: ((response: Response) => void) | undefined;
  readonly #apiKeyHeaders: Record<string, string> | undefined;
  /** Calls between their start and their answer (or failure), for `idle()`. */
  #inFlight = 0;
  #onIdle: (() => void) | undefined;
  readonly #drain: Drain | undefined;
  closed = false;

  constructor(parts: PipelineParts) {
    const { strategy } = parts;
    this.#transport = parts.transport;
    this.#scope = parts.scope;
    this.#targets = parts.targets;
    this.#baseHeaders = parts.baseHeaders;
    this.#headerNames = strategy.headerNames;
    this.#manager = parts.manager;
    this.#reauth = new Set(parts.reauthStatuses);
    this.#timeoutMs = parts.timeoutMs;
    this.#resourceTiming = parts.resourceTiming;
    this.#emit = parts.emit;
    this.#drain = parts.drain;
    if (strategy.kind === 'session') {
      this.#authorize = strategy.authorize?.bind(strategy) ?? bearerAuthorization();
      this.#challenge = strategy.challenge?.bind(strategy);
      this.#observe = strategy.observe?.bind(strategy);
      this.#apiKeyHeaders = undefined;
    } else {
      const headers = new Headers();
      strategy.apply(headers);
      this.#authorize = undefined;
      this.#challenge = undefined;
      this.#observe = undefined;
      this.#apiKeyHeaders = headersRecord(headers);
    }
  }

  /**
   * `client.fetch`; `sentWith` collects the tokens the call was sent with, for redaction;
   * an adapter's `group` aborts the call when its downstream client leaves. Not `async`:
   * with a fresh token and a string path, nothing is awaited before the request is sent.
   */
  fetch(
    input: string | URL | Request,
    init: RequestInit | undefined,
    sentWith?: string[],
    group?: AbortGroup,
  ): Promise<Response> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    let target: Target;
    let call: Call;
    try {
      if (isRequest(input)) {
        // The URL is checked before the body is read: a refused call reads nothing.
        this.#targets.resolve(input.url);
        return fromRequest(
          input,
          init ?? undefined,
          defaults.replayBufferBytes,
          this.#timeoutMs,
        ).then((request) => this.fetch(request.url, request.init, sentWith, group));
      }
      target = this.#targets.resolve(input);
      call = prepareCall(init ?? undefined, group, this.#baseHeaders, this.#headerNames);
    } catch (error) {
      return Promise.reject(error);
    }
    // An already aborted call sends nothing; as fetch does, it cancels a stream body.
    if (call.signal?.aborted && isReadableStream(call.body)) {
      call.body.cancel(call.signal.reason).catch(() => {});
    }
    const answer = this.#attempt(target, call, this.#manager?.peekToken(), sentWith);
    return call.integrity === '' ? answer : answer.then((r) => checkIntegrity(r, call.integrity));
  }

  /** Resolves once no call is in flight (answers may still be read). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onIdle = resolve;
    });
  }

  /**
   * One call: the token, the request, and one replay after a re-login. Counted in flight
   * until it settles (an integer each way: no allocation on the per-call path).
   */
  async #attempt(
    target: Target,
    call: Call,
    token: string | undefined,
    sentWith: string[] | undefined,
  ): Promise<Response> {
    this.#inFlight++;
    this.#drain?.add();
    try {
      const manager = this.#manager;
      if (manager === undefined) return await this.#send(target, call, undefined);
      token ??= await this.#waitForToken(manager, call);
      sentWith?.push(token);
      let first = await this.#send(target, call, token);
      if (!this.#reauth.has(first.status)) return first;
      // A token that has already shown it gets this very answer here is not dropped again.
      if (this.#denials.has(token, call.method, first, target)) return first;
      // The strategy learnt something from the answer (a DPoP nonce): once more, same token.
      if (this.#challenge?.(first, token) === 'retry') {
        if (!call.replayable) return first;
        await discardResponse(first);
        first = await this.#send(target, call, token);
        if (!this.#reauth.has(first.status) || this.#challenge(first, token) === 'retry') {
          return first;
        }
      }

      manager.invalidate(token);
      this.#emit({ type: 'reauth', status: first.status, replayed: call.replayable });
      if (!call.replayable) return first;
      await discardResponse(first);
      const fresh = manager.peekToken() ?? (await this.#waitForToken(manager, call));
      sentWith?.push(fresh);
      const second = await this.#send(target, call, fresh);
      // Another token, the same answer: the token was not the problem (a permission 403).
      if (second.status === first.status && fresh !== token) {
        this.#denials.remember(fresh, token, call.method, second, target);
      }
      return second;
    } finally {
      if (--this.#inFlight === 0) this.#onIdle?.();
      this.#drain?.remove();
    }
  }

  /** The wait for a login, ended by the caller's signal or after `timeoutMs`. */
  async #waitForToken(manager: TokenManager, call: Call): Promise<string> {
    const wait = startCall(this.#timeoutMs, call.signal);
    try {
      return await manager.getToken({ signal: wait.signal });
    } catch (error) {
      // Only here, off the path of a call that has its token: the adapter logs it.
      call.group?.onLoginFailure?.(error, call.group.request);
      throw error;
    } finally {
      settle(wait);
    }
  }

  /**
   * `#sendOnce`, its answer shown to the strategy's `observe` when it carried a token (no
   * tick added for a strategy without one).
   */
  #send(target: Target, call: Call, token: string | undefined): Promise<Response> {
    const sent = this.#sendOnce(target, call, token);
    const observe = this.#observe;
    if (token === undefined || observe === undefined) return sent;
    return sent.then((response) => {
      try {
        observe(response);
      } catch {
        // A strategy's mistake there is not the call's.
      }
      return response;
    });
  }

  /** Sends once, following redirects that stay inside the base URL; returns the last answer. */
  async #sendOnce(target: Target, call: Call, token: string | undefined): Promise<Response> {
    let method = call.method;
    let body = call.body;
    let headers = call.headers;
    let referrer = call.referrer;
    let referrerPolicy = call.referrerPolicy;
    // fetch's resource-timing entry, when asked for: the first URL, from here to the end of
    // the last body.
    const timed = this.#resourceTiming;
    const name = target.href;
    const startTime = timed ? clock.now() : 0;
    let redirectStart = 0;
    let redirectEnd = 0;
    for (let hops = 0; ; hops++) {
      let outgoing = headers;
      if (referrer !== undefined) {
        // Each hop's Referer starts from the previous one's, under the current policy.
        referrer = determineReferrer(referrer, referrerPolicy, target.url);
        if (referrer !== undefined) outgoing = withReferer(headers, referrer.href);
      }
      const credentials = this.#credentials(outgoing, token, method, target.href);
      const sent = credentials instanceof Promise ? await credentials : credentials;
      const watcher = this.#drain;
      let response: Response;
      if (watcher === undefined) {
        response = await this.#transport(target, {
          method,
          headers: sent,
          body,
          signal: call.signal,
          dispatcher: call.dispatcher,
          spelling: call.spelling,
          timed,
        });
      } else {
        // Counted from here until the transport says this answer is done with.
        watcher.add();
        response = await this.#transport(target, {
          method,
          headers: sent,
          body,
          signal: call.signal,
          watcher,
          dispatcher: call.dispatcher,
          spelling: call.spelling,
          timed,
        });
      }
      if (response.status === 407) {
        // fetch asks no one for a proxy's credentials: a network error, as with fetch.
        await discardResponse(response);
        throw new TypeError('fetch failed', {
          cause: new Error('proxy authentication required'),
        });
      }
      if (!redirectStatuses.has(response.status) || call.redirect === 'manual') {
        const answer = hops === 0 ? response : markRedirected(response);
        if (timed) timeAnswer(answer, name, startTime, redirectStart, redirectEnd);
        return answer;
      }
      if (call.redirect === 'error') {
        await discardResponse(response);
        // fetch's network error, its cause saying why.
        throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
      }
      const location = response.headers.get('location');
      const next = location === null ? undefined : safeUrl(utf8Location(location), target.url);
      const switchesToGet =
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST');
      if (
        next === undefined ||
        hops >= maxRedirects ||
        !isInside(this.#scope, next) ||
        (!switchesToGet && !call.replayable)
      ) {
        if (timed) timeAnswer(response, name, startTime, redirectStart, redirectEnd);
        return response;
      }
      referrerPolicy = redirectPolicy(response.headers.get('referrer-policy')) ?? referrerPolicy;
      await discardResponse(response);
      if (timed) {
        if (redirectStart === 0) redirectStart = startTime;
        redirectEnd = clock.now();
      }
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

  /** The call's headers with its credentials: the token's (per request), or the API key's. */
  #credentials(
    headers: Record<string, string>,
    token: string | undefined,
    method: string,
    url: string,
  ): Record<string, string> | Promise<Record<string, string>> {
    if (token === undefined) {
      const apiKey = this.#apiKeyHeaders;
      return apiKey === undefined ? headers : { ...headers, ...apiKey };
    }
    const added = this.#authorize!(token, method, url);
    return added instanceof Promise
      ? added.then((credentials) => ({ ...headers, ...credentials }))
      : { ...headers, ...added };
  }
}

/**
 * A `Location` as fetch reads it: a header's bytes arrive one character per byte (Latin-1),
 * and a value that is not ASCII is decoded as the UTF-8 servers send (`/안녕`).
 */
function utf8Location(location: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7F]*$/.test(location) || /[^\x00-\xFF]/.test(location)) return location;
  const bytes = new Uint8Array(location.length);
  for (let i = 0; i < location.length; i++) bytes[i] = location.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** `headers` with fetch's `Referer` (appended to a caller's own, as fetch appends it). */
function withReferer(headers: Record<string, string>, href: string): Record<string, string> {
  const given = headers.referer;
  return { ...headers, referer: given === undefined ? href : `${given}, ${href}` };
}

function isReadableStream(body: unknown): body is ReadableStream {
  return typeof ReadableStream === 'function' && body instanceof ReadableStream;
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

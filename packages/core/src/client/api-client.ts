/**
 * The client layer: what a user holds. `createApiClient` (this file) validates the options
 * once (`options.ts`, `env.ts`) and assembles a client from the layers below: a transport
 * (one per family of clients, `family.ts`), a token engine for a token strategy, and the
 * call pipeline (`pipeline.ts`: target → call → attempt → send/redirect, with the pieces
 * in `targets.ts`, `call.ts`, `denials.ts`), the login's confined fetch (`login-fetch.ts`)
 * and `client.json()`'s reading (`json.ts`). `client.as()` derives clients of the same
 * family; `client-pool.ts` keeps one client per tenant behind lazy facades
 * (`lazy-client.ts`). Nothing here is imported by the layers below; the adapter kit above
 * builds on it.
 */
import { createDefaultTransport, defaultTransport } from '#platform';
import type { AuthStrategy } from '../auth/strategy.js';
import { credentialId, storeKey } from '../engine/store-key.js';
import { createTokenManager, type TokenManager } from '../engine/token-manager.js';
import { createUrlScope } from '../guards/resolve-url.js';
import { type AbortGroup } from '../shared/abort.js';
import { ClientClosedError, ConfigError, InvalidCredentialsError } from '../shared/errors.js';
import { clientInstance, createEmitter, type TokenFetchEvent } from '../shared/events.js';
import { createFetchTransport } from '../transport/transport.js';
import { fetchDefaultHeaders, isRequest } from './call.js';
import {
  checkOrgLogin,
  clientAs,
  closeFamily,
  forget,
  noteOrgLogin,
  type Family,
} from './family.js';
import { setGroupedFetch } from './grouped-fetch.js';
import { readJson } from './json.js';
import { createLogin, transportFetch } from './login-fetch.js';
import { parseOptions, type ApiClientOptions, type ResolvedOptions } from './options.js';
import { CallPipeline } from './pipeline.js';
import { Drain } from './drain.js';
import { createTargetCache } from './targets.js';
import type { ApiClient, ResponseSchema } from './types.js';

export type { ApiClient, ApiFetch, ResponseSchema } from './types.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');
/** Numbers the clients of this process, for `clientInstance`. */
let instances = 0;

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
  return buildClient(createFamily(parseOptions(options), false), undefined);
}

/**
 * For the pool: `createApiClient`, whose answers are watched until they are done with, so
 * that `closeWhenDrained` can close it without cutting one short.
 */
export function createDrainableClient(options: ApiClientOptions): ApiClient {
  return buildClient(createFamily(parseOptions(options), true), undefined);
}

/** How each drainable client made here waits for its calls and answers, then closes. */
const drains = new WeakMap<ApiClient, () => Promise<void>>();

/**
 * Closes a client of the pool (`createDrainableClient`) or one made by `as()` once its
 * calls in flight have settled and their answers are done with (read, cancelled, failed or
 * collected), or once `timeoutMs` passes with none of them finishing. It takes no new call
 * meanwhile from whoever dropped it; any other client is closed at once.
 */
export function closeWhenDrained(client: ApiClient): Promise<void> {
  return drains.get(client)?.() ?? client.close();
}

/**
 * The root's family: one transport, one set of headers and resolved paths for all its
 * clients; a `drainable` one (the pool's) counts every call of its clients in one drain.
 */
function createFamily(resolved: ResolvedOptions, drainable: boolean): Family {
  const scope = createUrlScope(resolved.baseUrl, resolved.allowedOrigins);
  const headers = resolved.headers === undefined ? undefined : new Headers(resolved.headers);
  const family: Family = {
    resolved,
    // undici's dispatcher unless the caller brings a fetch of their own (then every call
    // and the login go through it).
    channel:
      resolved.fetch === undefined
        ? createDefaultTransport(resolved.timeoutMs, resolved.dispatcher, resolved.timeoutGiven)
        : createFetchTransport(resolved.fetch, resolved.timeoutMs),
    baseHeaders: fetchDefaultHeaders(
      headers,
      resolved.fetch === undefined && defaultTransport === 'undici',
    ),
    targets: createTargetCache(scope),
    scope,
    build: (strategy) => buildClient(family, strategy),
    drop: closeWhenDrained,
    withToken: new Map(),
    facades: new Map(),
    tokenless: new Map(),
    credentialRefusal: undefined,
    orgLogins: { proven: new Set(), refusedAt: [] },
    drain: drainable ? new Drain() : undefined,
    client: undefined,
    closed: false,
  };
  return family;
}

/**
 * A client of `family`: its root's (no `strategy`), or one for `strategy`, made by `as()`,
 * which shares the family's transport and ends only its own token when closed. An `as()`
 * client, and a drainable family's root, count their calls for `closeWhenDrained`.
 */
function buildClient(family: Family, strategy: AuthStrategy | undefined): ApiClient {
  const { resolved, scope } = family;
  const auth = strategy ?? resolved.auth;
  const id = auth.kind === 'session' ? credentialId(scope.base.href, auth.identity) : '';
  // Every event says which client it comes from (an API-key client has no token, so no
  // events); events are rare, never on the hot path.
  const origin = { serverAddress: scope.base.hostname, clientId: id.slice(0, 16) };
  const report = createEmitter(resolved.onEvent);
  const instance = ++instances;
  const emit = (event: TokenFetchEvent) => {
    const sent = { ...event, ...origin };
    Object.defineProperty(sent, clientInstance, { value: instance });
    report(sent);
  };
  const manager = auth.kind === 'session' ? createEngine(family, auth, emit) : undefined;
  const drain = strategy === undefined ? family.drain : new Drain(family.drain);
  const pipeline = new CallPipeline({
    transport: family.channel.send,
    scope,
    targets: family.targets,
    baseHeaders: family.baseHeaders,
    strategy: auth,
    manager,
    reauthStatuses: resolved.reauthStatuses,
    timeoutMs: resolved.timeoutMs,
    resourceTiming: resolved.resourceTiming,
    emit,
    drain,
  });
  let closing: Promise<void> | undefined;

  const client: ApiClient = {
    fetch: (input, init) => pipeline.fetch(input, init),
    async json<T>(
      input: string | URL | Request,
      init: RequestInit & { schema?: ResponseSchema<T> } = {},
    ) {
      const { schema, ...rest } = init;
      // A Request's own headers stay unless init replaces them, as with fetch.
      const headers = new Headers(rest.headers ?? (isRequest(input) ? input.headers : undefined));
      if (!headers.has('accept')) headers.set('accept', 'application/json');
      const sentWith: string[] = [];
      const response = await pipeline.fetch(input, { ...rest, headers }, sentWith);
      return readJson(response, input, schema, auth.secrets?.() ?? [], sentWith);
    },
    getToken(opts) {
      if (pipeline.closed) return Promise.reject(new ClientClosedError());
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
    as: (options) => clientAs(family, options),
    close() {
      if (closing !== undefined) return closing;
      pipeline.closed = true;
      if (manager !== undefined) {
        manager.close();
        emit({ type: 'close' });
      }
      // A client made by as() shares the transport: it ends only its own token.
      if (strategy !== undefined) {
        forget(family, client);
        closing = endStrategy(auth);
        return closing;
      }
      closing = closeFamily(family)
        // Before the transport closes: the strategy's last words may go through it.
        .then(() => endStrategy(auth))
        .then(() => family.channel.close(new ClientClosedError()))
        .then(() => pipeline.idle())
        // The calls' own handlers run first: close() resolves after they have seen the end.
        .then(
          () =>
            new Promise((resolve) =>
              typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
            ),
        );
      return closing;
    },
  };
  const describe = { baseUrl: scope.base.href, auth: auth.kind };
  // fetch's arity: `fetch.length` is 1 (init is optional), as libraries that check it expect.
  Object.defineProperty(client.fetch, 'length', { value: 1 });
  Object.defineProperties(client, {
    toJSON: { value: () => describe },
    [inspect]: { value: () => `ApiClient ${JSON.stringify(describe)}` },
  });
  setGroupedFetch(client, (input, init, group: AbortGroup) =>
    pipeline.fetch(input, init, undefined, group),
  );
  if (drain !== undefined) {
    drains.set(client, () => drain.drained(resolved.timeoutMs).then(() => client.close()));
  }
  family.client ??= client;
  return client;
}

/**
 * The strategy's `close()` (an OAuth refresh token revoked), once; a failure is its own
 * business and never fails `client.close()`.
 */
function endStrategy(auth: AuthStrategy): Promise<void> {
  if (auth.kind !== 'session' || auth.close === undefined) return Promise.resolve();
  try {
    return auth.close().then(
      () => undefined,
      () => undefined,
    );
  } catch {
    return Promise.resolve();
  }
}

/** The token engine of a client with a token strategy, logging in through its confined fetch. */
function createEngine(
  family: Family,
  auth: AuthStrategy & { kind: 'session' },
  emit: (event: TokenFetchEvent) => void,
): TokenManager {
  const { resolved, scope } = family;
  const now = resolved.now ?? Date.now;
  // The secrets as the client was made with them: a strategy may rotate one later (a
  // refresh token), and its store key must not move.
  const secrets = [...(auth.secrets?.() ?? [])];
  const login = createLogin(auth, {
    scope,
    fetch: resolved.fetch ?? transportFetch(family.channel.send, resolved.loginTimeoutMs),
    headers: resolved.headers === undefined ? undefined : new Headers(resolved.headers),
    allowInsecureHttp: resolved.allowInsecureHttp,
    now,
  });
  return createTokenManager({
    // A password refused (401) for one identity of the family is refused for all of them
    // (every org of the user): none of them logs in again before the cooldown has passed.
    // Orgs a caller chooses per request cost at most `orgRefusalBudget` refused logins.
    async login(context) {
      const refused = family.credentialRefusal;
      if (refused !== undefined && now() < refused.until) throw new InvalidCredentialsError();
      checkOrgLogin(family, auth.identity, now());
      try {
        const result = await login(context);
        noteOrgLogin(family, auth.identity, now());
        return result;
      } catch (error) {
        if (error instanceof InvalidCredentialsError) {
          family.credentialRefusal = { until: now() + resolved.loginCooldownMs };
        }
        noteOrgLogin(family, auth.identity, now(), error);
        throw error;
      }
    },
    ttlMs: auth.ttlMs,
    durableState: auth.durableState === true,
    refreshAheadMs: resolved.refreshAheadMs,
    loginTimeoutMs: resolved.loginTimeoutMs,
    loginRetries: resolved.loginRetries,
    loginCooldownMs: resolved.loginCooldownMs,
    ...(resolved.store === undefined ? {} : { store: resolved.store }),
    // Bound to the secret (engine/store-key.ts): worked out at the first login.
    key: () => storeKey(scope.base.href, auth.identity, secrets),
    onEvent: emit,
    now,
  });
}

import { deriveStrategy, type AsOptions } from '../auth/identity.js';
import type { AuthStrategy } from '../auth/strategy.js';
import type { UrlScope } from '../guards/resolve-url.js';
import { ClientClosedError, NoActiveOrgError } from '../shared/errors.js';
import type { ClientTransport } from '../transport/transport.js';
import type { Drain } from './drain.js';
import { createLazyClient } from './lazy-client.js';
import type { ResolvedOptions } from './options.js';
import type { TargetCache } from './targets.js';
import type { ApiClient } from './types.js';

/**
 * What a client and the clients made from it by `as()` share: the transport (one undici
 * Agent), the parsed options and headers, the resolved paths; made once, by the root.
 */
export interface Family {
  readonly resolved: ResolvedOptions;
  readonly channel: ClientTransport;
  readonly baseHeaders: Record<string, string>;
  readonly targets: TargetCache;
  readonly scope: UrlScope;
  /** Makes a client of this family for another strategy (`as()`). */
  readonly build: (strategy: AuthStrategy) => ApiClient;
  /** Closes a client the family no longer keeps, once its calls and answers are done. */
  readonly drop: (client: ApiClient) => Promise<void>;
  /**
   * `as()` clients with a token of their own (another org), by key, least recently used
   * first; past `derivedCacheSize` the oldest is closed once drained. Callers hold
   * `facades` of them, which make one again if it was dropped.
   */
  readonly withToken: Map<string, ApiClient>;
  readonly facades: Map<string, ApiClient>;
  /** `as()` clients without a token of their own (impersonation), bounded the same way. */
  readonly tokenless: Map<string, ApiClient>;
  /** A 401 for any identity of the family: its password is refused for all, until then. */
  credentialRefusal: { until: number } | undefined;
  /**
   * Identities of the family seen to log in, and when its other identities were last
   * refused (404: not a member of that org), newest last: per-request org ids a caller
   * chooses must not become one login with the service password each.
   */
  readonly orgLogins: { readonly proven: Set<string>; readonly refusedAt: number[] };
  /** A pool's family: every call of its clients, so that the root closes once all are done. */
  readonly drain: Drain | undefined;
  /** The root client: `as()` its own identity answers it. */
  client: ApiClient | undefined;
  closed: boolean;
}

/**
 * How many `as()` clients one client keeps, with a token and without; past it the least
 * recently used is dropped (one with a token is closed once its calls and answers are done).
 * Hostile per-request org ids cannot grow the heap without bound.
 */
export const derivedCacheSize = 1_000;

/**
 * How many identities of a family may be refused (404) within a login cooldown before an
 * identity never seen to log in is no longer tried until the oldest refusal is that old:
 * a caller choosing org ids per request gets at most this many logins per cooldown.
 */
export const orgRefusalBudget = 10;

/**
 * Before a login of `identity`: throws when the family's budget of refused orgs is spent
 * and this identity has never logged in (the root's own identity is always tried).
 */
export function checkOrgLogin(family: Family, identity: string, now: number): void {
  const { proven, refusedAt } = family.orgLogins;
  const cooldownMs = family.resolved.loginCooldownMs;
  while (refusedAt.length > 0 && refusedAt[0]! <= now - cooldownMs) refusedAt.shift();
  if (refusedAt.length < orgRefusalBudget || proven.has(identity)) return;
  if (family.resolved.auth.kind === 'session' && family.resolved.auth.identity === identity) {
    return;
  }
  throw new NoActiveOrgError(
    `login not tried: ${refusedAt.length} orgs of this user were refused (404) in the last ${Math.ceil(cooldownMs / 1000)} s, and this one was never seen to work`,
  );
}

/** After a login of `identity`: remembers a success, or a refusal of the org (404). */
export function noteOrgLogin(family: Family, identity: string, now: number, error?: unknown): void {
  const { proven, refusedAt } = family.orgLogins;
  if (error === undefined) proven.add(identity);
  else if (error instanceof NoActiveOrgError && !proven.has(identity)) refusedAt.push(now);
}

/** `client.as(options)`: the family's client for that identity. */
export function clientAs(family: Family, options: AsOptions): ApiClient {
  if (family.closed) throw new ClientClosedError();
  const rootAuth = family.resolved.auth;
  const { strategy, key } = deriveStrategy(rootAuth, options);
  // The same identity as the root's (the user in the org it logged in to) is the root itself.
  if (strategy.kind === 'session' && rootAuth.kind === 'session') {
    if (strategy.identity === rootAuth.identity) return family.client!;
  }
  if (strategy.kind !== 'session') {
    // A client without a token of its own holds nothing: dropping it costs nothing to
    // whoever still uses it.
    return cached(family.tokenless, key, () => family.build(strategy));
  }
  return cached(family.facades, key, () => derivedFacade(family, key, strategy));
}

/**
 * What `as()` hands out for an identity with a token of its own: a facade whose calls go to
 * the family's client for `key`, made again if the family dropped it. Closed, it takes no
 * more calls, and the family hands out a new one.
 */
function derivedFacade(family: Family, key: string, strategy: AuthStrategy): ApiClient {
  let closed = false;
  const facade: ApiClient = createLazyClient(
    () => {
      if (closed || family.closed) throw new ClientClosedError();
      return cached(family.withToken, key, () => family.build(strategy), family);
    },
    () => {
      closed = true;
      if (family.facades.get(key) === facade) family.facades.delete(key);
      const client = family.withToken.get(key);
      family.withToken.delete(key);
      return client?.close() ?? Promise.resolve();
    },
    { baseUrl: family.scope.base.href, auth: strategy.kind },
    (options) => clientAs(family, options),
  );
  return facade;
}

/**
 * The entry of `cache` under `key`, made by `make` if missing; used again, it becomes the
 * newest. Past `derivedCacheSize` the oldest is dropped (closed once drained if `family`,
 * the owner of the clients, is given).
 */
function cached(
  cache: Map<string, ApiClient>,
  key: string,
  make: () => ApiClient,
  family?: Family,
): ApiClient {
  let client = cache.get(key);
  if (client !== undefined) {
    cache.delete(key);
  } else {
    client = make();
    if (cache.size >= derivedCacheSize) {
      const [oldestKey, oldest] = cache.entries().next().value!;
      cache.delete(oldestKey);
      if (family !== undefined) void family.drop(oldest);
    }
  }
  cache.set(key, client);
  return client;
}

/** A derived client was closed: the family no longer hands it out. */
export function forget(family: Family, client: ApiClient): void {
  for (const cache of [family.withToken, family.tokenless]) {
    for (const [key, value] of cache) if (value === client) cache.delete(key);
  }
}

/** Closes every derived client of the family; the root closes itself. */
export async function closeFamily(family: Family): Promise<void> {
  family.closed = true;
  const derived = [...family.withToken.values(), ...family.tokenless.values()];
  family.withToken.clear();
  family.facades.clear();
  family.tokenless.clear();
  await Promise.all(derived.map((client) => client.close()));
}

import { deriveStrategy, type AsOptions } from '../auth/identity.js';
import type { AuthStrategy } from '../auth/strategy.js';
import type { UrlScope } from '../guards/resolve-url.js';
import { ClientClosedError } from '../shared/errors.js';
import type { ClientTransport } from '../transport/transport.js';
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
  /** `as()` clients with a token of their own (few per user, kept) and without (bounded). */
  readonly withToken: Map<string, ApiClient>;
  readonly tokenless: Map<string, ApiClient>;
  /** The root client: `as()` its own identity answers it. */
  client: ApiClient | undefined;
  closed: boolean;
}

/** How many clients without a token of their own one client keeps; the oldest is dropped past it. */
export const tokenlessCacheSize = 1_000;

/** `client.as(options)`: the family's client for that identity, made at its first use. */
export function clientAs(family: Family, options: AsOptions): ApiClient {
  if (family.closed) throw new ClientClosedError();
  const rootAuth = family.resolved.auth;
  const { strategy, key } = deriveStrategy(rootAuth, options);
  // The same identity as the root's (the user in the org it logged in to) is the root itself.
  if (strategy.kind === 'session' && rootAuth.kind === 'session') {
    if (strategy.identity === rootAuth.identity) return family.client!;
  }
  const tokenless = strategy.kind !== 'session';
  const cache = tokenless ? family.tokenless : family.withToken;
  let client = cache.get(key);
  if (client === undefined) {
    client = family.build(strategy);
    // A client without a token of its own holds nothing, so dropping the oldest from the
    // cache costs nothing to whoever still uses it.
    if (tokenless && cache.size >= tokenlessCacheSize) cache.delete(cache.keys().next().value!);
    cache.set(key, client);
  }
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
  family.tokenless.clear();
  await Promise.all(derived.map((client) => client.close()));
}

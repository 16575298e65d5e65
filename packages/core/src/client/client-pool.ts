import { keepAlive, sharedDispatcher, workBelongsToRequest } from '#platform';
import { unrefTimer } from '../shared/abort.js';
import { closeWhenDrained, createDrainableClient, type ApiClient } from './api-client.js';
import { defaults } from '../shared/defaults.js';
import {
  ClientClosedError,
  ConfigError,
  isTokenFetchError,
  type ConfigIssue,
} from '../shared/errors.js';
import { createLazyClient } from './lazy-client.js';
import { parseOptions, type ApiClientOptions } from './options.js';
import { createCachingStore } from '../engine/caching-store.js';
import { MemoryTokenStore } from '../engine/memory-store.js';

/**
 * What `resolve(tenant)` returns: the tenant's options, merged over the pool's shared ones
 * (typically `baseUrl` and `auth`). `store`, `onEvent`, `now` and `fetch` belong to the
 * pool and cannot be set per tenant.
 */
export type TenantOptions = Partial<Omit<ApiClientOptions, PoolOnly>>;

/** Options only the pool sets: one store, one event listener, one clock, one fetch for all. */
type PoolOnly = 'store' | 'onEvent' | 'now' | 'fetch';
const poolOnly: readonly PoolOnly[] = ['store', 'onEvent', 'now', 'fetch'];

/** Options of `createClientPool`: `resolve`, the pool's bounds, and options shared by every tenant. */
export interface ClientPoolOptions extends Partial<ApiClientOptions> {
  /**
   * The options of one tenant (its base URL, its credentials…), sync or async. Runs at the
   * tenant's first call, once however many calls wait for it; bounded by `loginTimeoutMs`.
   * A throw fails the calls waiting for it and is not remembered: the next call runs it again.
   * @example resolve: async (tenant) => ({ baseUrl: `https://${tenant}.resolver.com/api`, auth: await vault.get(tenant) })
   */
  resolve: (tenant: string) => TenantOptions | Promise<TenantOptions>;
  /**
   * Past this many tenants, the least recently used one's client is dropped: it takes no
   * new call, and is closed once its calls in flight have settled and their answers have
   * been read (or cancelled, or collected). Its tenant's next call builds it again.
   * @default 1000
   */
  maxClients?: number;
  /**
   * A tenant's client unused for this long is closed; its next call builds it again.
   * @default 1_800_000 (30 minutes)
   */
  idleTimeoutMs?: number;
}

/** Clients of many tenants, made on demand and closed when unused. */
export interface ClientPool {
  /**
   * The tenant's client, at once: its first call resolves the tenant's options and builds
   * its client. Calls of a tenant whose options cannot be resolved or are invalid reject
   * with `ConfigError` (fields, never values); other tenants are not affected.
   */
  client(tenant: string): ApiClient;
  /** The number of tenants the pool holds a client (or a client being built) for. */
  readonly size: number;
  /** Closes every tenant's client; later calls reject with `ClientClosedError`. */
  close(): Promise<void>;
}

interface Entry {
  readonly tenant: string;
  readonly facade: ApiClient;
  client: ApiClient | undefined;
  pending: Promise<ApiClient> | undefined;
  /** When `pending` began. */
  pendingSince: number;
  lastUsed: number;
}

/** How often, at most, idle clients are looked for when no call comes. */
const sweepEveryMs = 60_000;
/** Tokens of dropped clients a pool on a shared store remembers (about 1 KB each). */
const rememberedTokens = 10_000;
/** How long past its own bound a tenant's build is waited for before it is left behind. */
const staleMs = 5_000;

/**
 * A pool of clients, one per tenant (a customer, an org, a user), built from `resolve` at
 * the tenant's first call. Shared options (store, onEvent, timeouts, dispatcher) apply to
 * every tenant; a shared store keeps tenants apart by key (base URL, email and org). Without
 * a `dispatcher` (and without `fetch`), the pool's tenants share one undici `Agent` of the pool.
 *
 * @example
 * const pool = createClientPool({
 *   resolve: async (customer) => ({ baseUrl: `https://${customer}.resolver.com/api`, auth: await secrets.get(customer) }),
 *   store: new RedisTokenStore(redis),
 * });
 * await pool.client('acme').json('/user/users/me');
 */
export function createClientPool(options: ClientPoolOptions): ClientPool {
  const { resolve, maxClients = 1000, idleTimeoutMs = 1_800_000, ...shared } = options;
  checkPoolOptions(options, shared);
  const now = shared.now ?? Date.now;
  const resolveTimeoutMs = shared.loginTimeoutMs ?? defaults.loginTimeoutMs;
  const agent =
    shared.fetch === undefined && shared.dispatcher === undefined ? sharedDispatcher() : undefined;
  // One store for every tenant (keys are bound to each tenant's secret): a tenant's client
  // made again after it was dropped finds its token there, in memory, or in front of a
  // shared store (Redis) without a round trip.
  const store =
    shared.store === undefined
      ? new MemoryTokenStore({ now })
      : createCachingStore(shared.store, { maxEntries: rememberedTokens, now });
  const common: Partial<ApiClientOptions> = {
    ...shared,
    store,
    // The pool's own Agent bounds each request by timeoutMs, as a client's own Agent does.
    ...(agent === undefined
      ? {}
      : { dispatcher: agent, timeoutMs: shared.timeoutMs ?? defaults.timeoutMs }),
  };
  // Least recently used first: a use moves the tenant to the end.
  const entries = new Map<string, Entry>();
  let closed = false;
  // Started at the first tenant's call, not here: a pool made at module scope does nothing
  // that a runtime forbids there (Workers allow no timer at global scope).
  let sweeper: ReturnType<typeof setInterval> | undefined;

  function entryOf(tenant: string): Entry {
    if (sweeper === undefined) {
      sweeper = setInterval(sweepIdle, Math.min(idleTimeoutMs, sweepEveryMs));
      unrefTimer(sweeper);
    }
    let entry = entries.get(tenant);
    if (entry !== undefined) {
      entries.delete(tenant);
    } else {
      entry = {
        tenant,
        // A dropped entry's facade works on: its calls go to the tenant's current entry.
        facade: createLazyClient(
          () => use(tenant),
          () => closeTenant(tenant),
          { pool: 'tenant' },
        ),
        client: undefined,
        pending: undefined,
        pendingSince: 0,
        lastUsed: 0,
      };
    }
    entry.lastUsed = now();
    entries.set(tenant, entry);
    sweepIdle();
    evictPastMax(entry);
    return entry;
  }

  /**
   * The tenant's client, or the one build of it that every call of the tenant joins. On
   * Workers a build belongs to the request that starts it: that request is kept alive until
   * it settles (`waitUntil`), and one that has run past its bound and a margin without
   * settling (its request cancelled, its timer with it) is left behind for a new one, as
   * the token engine does with a login.
   */
  function use(tenant: string): ApiClient | Promise<ApiClient> {
    if (closed) throw new ClientClosedError();
    const entry = entryOf(tenant);
    if (entry.client !== undefined) return entry.client;
    if (
      workBelongsToRequest &&
      entry.pending !== undefined &&
      now() - entry.pendingSince > resolveTimeoutMs + staleMs
    ) {
      entry.pending = undefined;
    }
    if (entry.pending === undefined) {
      entry.pendingSince = now();
      const pending = build(entry, () => entry.pending === pending);
      entry.pending = pending;
      keepAlive(pending.catch(() => {}));
    }
    return entry.pending;
  }

  /** Builds the tenant's client; `current()` says whether this build is still the entry's. */
  async function build(entry: Entry, current: () => boolean): Promise<ApiClient> {
    try {
      const tenantOptions = await resolveWithin(() => resolve(entry.tenant), resolveTimeoutMs);
      const client = clientOf(tenantOptions);
      if (closed || entries.get(entry.tenant) !== entry || !current()) {
        // Closed, dropped or left behind while resolving: these calls get a ClientClosedError.
        await client.close();
        throw new ClientClosedError();
      }
      entry.client = client;
      // Tenants built at once are each kept while built: the pool is back to maxClients here.
      evictPastMax(entry);
      return client;
    } finally {
      if (current()) entry.pending = undefined;
    }
  }

  /**
   * The tenant's client takes no new call (the next one builds another), and is closed once
   * its calls in flight and their answers are done: the pool's (or the tenant's own)
   * dispatcher is not the client's, so closing it aborts nothing of the others.
   */
  function drop(entry: Entry): void {
    entries.delete(entry.tenant);
    if (entry.client !== undefined) void closeWhenDrained(entry.client);
  }

  /**
   * The tenant's client, from what `resolve` answered. Everything that reads the answer is
   * inside this boundary: a getter that throws (a vault that fails late) is the tenant's
   * `ConfigError`, naming the field, never its text.
   */
  function clientOf(tenantOptions: unknown): ApiClient {
    try {
      return createDrainableClient({
        ...common,
        ...checkTenantOptions(tenantOptions),
      } as ApiClientOptions);
    } catch (error) {
      if (isTokenFetchError(error)) throw error;
      throw new ConfigError(
        [{ path: 'resolve', message: 'returned options that could not be read' }],
        invalidTenant,
      );
    }
  }

  function evictPastMax(current: Entry): void {
    if (entries.size <= maxClients) return;
    for (const entry of entries.values()) {
      // A tenant whose client is being built is kept: calls wait for it.
      if (entry.pending !== undefined || entry === current) continue;
      drop(entry);
      if (entries.size <= maxClients) return;
    }
  }

  function sweepIdle(): void {
    const idleBefore = now() - idleTimeoutMs;
    for (const entry of entries.values()) {
      if (entry.lastUsed > idleBefore) return;
      if (entry.pending === undefined) drop(entry);
    }
  }

  async function closeTenant(tenant: string): Promise<void> {
    const entry = entries.get(tenant);
    if (entry === undefined) return;
    entries.delete(tenant);
    await entry.client?.close();
  }

  return {
    client(tenant) {
      if (typeof tenant !== 'string' || tenant === '') {
        throw new ConfigError(
          [{ path: 'tenant', message: 'must be a non-empty string' }],
          'invalid pool.client() call',
        );
      }
      return (entries.get(tenant) ?? entryOf(tenant)).facade;
    },
    get size() {
      return entries.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((entry) => entry.client?.close() ?? Promise.resolve()));
      // As a client's close() does with its own Agent: calls still in flight fail.
      await agent?.destroy(new ClientClosedError());
    },
  };
}

/** `resolve`'s options, checked: the pool's own options cannot be set per tenant. */
function checkTenantOptions(value: unknown): TenantOptions {
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError(
      [{ path: 'resolve', message: 'must return an object of options' }],
      invalidTenant,
    );
  }
  const issues: ConfigIssue[] = poolOnly
    .filter((name) => name in value)
    .map((name) => ({ path: name, message: 'is set on the pool, not per tenant' }));
  if (issues.length > 0) throw new ConfigError(issues, invalidTenant);
  return value as TenantOptions;
}

const invalidTenant = 'invalid options for this tenant';

/** `resolve()`, bounded; any failure becomes a `ConfigError` that shows none of its text. */
async function resolveWithin<T>(run: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            [{ path: 'resolve', message: `did not settle within loginTimeoutMs (${ms} ms)` }],
            invalidTenant,
          ),
        ),
      ms,
    );
    unrefTimer(timer);
  });
  try {
    return await Promise.race([Promise.resolve().then(run), timeout]);
  } catch (error) {
    // tokenfetch's own errors carry no secrets; anything else may (a vault's message).
    if (isTokenFetchError(error)) throw error;
    throw new ConfigError(
      [{ path: 'resolve', message: 'threw; the next call of this tenant runs it again' }],
      invalidTenant,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The pool's own options and the shared client options, checked once, at the factory. */
function checkPoolOptions(options: ClientPoolOptions, shared: Partial<ApiClientOptions>): void {
  const issues: ConfigIssue[] = [];
  if (typeof options.resolve !== 'function') {
    issues.push({ path: 'resolve', message: 'must be a function' });
  }
  for (const name of ['maxClients', 'idleTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0 && value < 2 ** 31)) {
      issues.push({ path: name, message: 'must be a positive integer below 2^31' });
    }
  }
  // The shared options are checked as a client's would be, with a stand-in for the
  // per-tenant fields they lack (they are checked again with each tenant's).
  try {
    parseOptions({
      baseUrl: 'https://tenant.invalid/',
      auth: { apiKey: 'stand-in' },
      ...shared,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0) throw new ConfigError(issues, 'invalid createClientPool() options');
}

import { DEMO_API_KEY, DEMO_USER } from './demo.js';

/** A user the mock upstream can log in. */
export interface MockUser {
  /** Login e-mail, compared exactly. */
  email: string;
  /** Login password, compared exactly. */
  password: string;
  /**
   * Organisations the user is an active member of. The login's `selectedOrg` must be one
   * of them (compared as strings, so `1` and `'1'` match); an empty list makes every login
   * of this user answer 404, like the upstream does for a user without an active org.
   */
  orgs: readonly (string | number)[];
  /** @default one more than the highest id given so far (the first user without an id gets 1) */
  id?: number;
  /** @default the part of `email` before the `@` */
  firstName?: string;
  /** @default `''` */
  lastName?: string;
}

/** An API key with the org its synthetic service user acts in. */
export interface MockApiKey {
  /** The value expected in the `x-api-key` header. */
  key: string;
  /** @default the first org of the first user, or `1` when there is none */
  orgId?: string | number;
  /** Id of the key's synthetic service user, as `GET /user/users/me` reports it. @default 0 */
  userId?: number;
}

/** Options of {@link startMockUpstream}. Every field is optional. */
export interface MockUpstreamOptions {
  /** Port to listen on; `0` picks a free ephemeral port. @default 0 */
  port?: number | undefined;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string | undefined;
  /**
   * Path the API lives under, like `https://YOUR_ENVIRONMENT.resolver.com/api`.
   * `''` or `'/'` serves at the root. @default '/api'
   */
  prefix?: string | undefined;
  /** Users that can log in. @default [DEMO_USER] */
  users?: readonly MockUser[] | undefined;
  /** Accepted `x-api-key` values. @default [DEMO_API_KEY] */
  apiKeys?: readonly MockApiKey[] | readonly string[] | undefined;
  /** Lifetime of an issued session token, by the `now` clock. @default 900_000 (15 minutes) */
  tokenTtlMs?: number | undefined;
  /**
   * When true, a successful login body also carries `expiresIn` (whole seconds).
   * The real upstream does not document one, so the default leaves it out.
   * @default false
   */
  announceTtl?: boolean | undefined;
  /**
   * Clock used to stamp and check token expiry, so tests can move time.
   * @default Date.now
   * @example
   * ```ts
   * let time = 0;
   * const mock = await startMockUpstream({ now: () => time });
   * time += 900_000; // every token issued at 0 is now expired
   * ```
   */
  now?: (() => number) | undefined;
}

/** A {@link MockUser} with every default filled in. */
export interface ResolvedUser {
  readonly id: number;
  readonly email: string;
  readonly password: string;
  readonly orgs: readonly (string | number)[];
  readonly firstName: string;
  readonly lastName: string;
}

/** A {@link MockApiKey} with every default filled in. */
export interface ResolvedApiKey {
  readonly key: string;
  readonly orgId: string | number;
  readonly userId: number;
}

/** {@link MockUpstreamOptions} after validation and defaults. */
export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly prefix: string;
  readonly users: readonly ResolvedUser[];
  readonly apiKeys: ReadonlyMap<string, ResolvedApiKey>;
  readonly tokenTtlMs: number;
  readonly announceTtl: boolean;
  readonly now: () => number;
}

/** Validates the options once and fills in the defaults; throws a TypeError/RangeError. */
export function resolveOptions(options: MockUpstreamOptions = {}): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const tokenTtlMs = options.tokenTtlMs ?? 900_000;
  if (!Number.isFinite(tokenTtlMs) || tokenTtlMs <= 0) {
    throw new RangeError(`tokenTtlMs must be a positive number, got ${String(tokenTtlMs)}`);
  }
  const users = resolveUsers(options.users ?? [DEMO_USER]);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    prefix: normalizePrefix(options.prefix ?? '/api'),
    users,
    apiKeys: resolveApiKeys(options.apiKeys ?? [DEMO_API_KEY], users),
    tokenTtlMs,
    announceTtl: options.announceTtl ?? false,
    now: options.now ?? Date.now,
  };
}

/** `'api/'` → `'/api'`, `'/'` → `''`. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

function resolveUsers(users: readonly MockUser[]): ResolvedUser[] {
  let nextId = 1;
  for (const user of users) if (user.id !== undefined) nextId = Math.max(nextId, user.id + 1);
  return users.map((user) => ({
    id: user.id ?? nextId++,
    email: user.email,
    password: user.password,
    orgs: [...user.orgs],
    firstName: user.firstName ?? user.email.split('@')[0] ?? '',
    lastName: user.lastName ?? '',
  }));
}

function resolveApiKeys(
  keys: readonly MockApiKey[] | readonly string[],
  users: readonly ResolvedUser[],
): Map<string, ResolvedApiKey> {
  const defaultOrg = users[0]?.orgs[0] ?? 1;
  const resolved = new Map<string, ResolvedApiKey>();
  for (const entry of keys) {
    const key: MockApiKey = typeof entry === 'string' ? { key: entry } : entry;
    resolved.set(key.key, {
      key: key.key,
      orgId: key.orgId ?? defaultOrg,
      userId: key.userId ?? 0,
    });
  }
  return resolved;
}

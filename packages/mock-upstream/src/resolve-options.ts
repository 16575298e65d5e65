import { demoApiKey, demoUser } from './demo.js';
import type {
  MockApiKey,
  MockOAuthOptions,
  MockUpstreamOptions,
  MockUser,
  ResolvedApiKey,
  ResolvedOAuthOptions,
  ResolvedOptions,
  ResolvedUser,
} from './options.js';

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
  const users = resolveUsers(options.users ?? [demoUser]);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    prefix: normalizePrefix(options.prefix ?? '/api'),
    users,
    apiKeys: resolveApiKeys(options.apiKeys ?? [demoApiKey], users),
    tokenTtlMs,
    announceTtl: options.announceTtl ?? false,
    now: options.now ?? Date.now,
    oauth: options.oauth === undefined ? undefined : resolveOAuth(options.oauth),
  };
}

function resolveOAuth(oauth: MockOAuthOptions): ResolvedOAuthOptions {
  if (typeof oauth.issuer !== 'string' || oauth.issuer === '') {
    throw new TypeError('oauth.issuer must be the issuer identifier, a non-empty string');
  }
  const keys =
    oauth.jwksUri === undefined
      ? oauth.jwks && { jwks: oauth.jwks }
      : oauth.jwks === undefined && { jwksUri: new URL(oauth.jwksUri) };
  if (keys === undefined || keys === false) {
    throw new TypeError('oauth needs exactly one of jwksUri and jwks');
  }
  const audience = [oauth.audience].flat();
  if (
    audience.length === 0 ||
    audience.some((value) => typeof value !== 'string' || value === '')
  ) {
    throw new TypeError('oauth.audience must be a non-empty string or a list of them');
  }
  const dpop = oauth.dpop ?? false;
  return {
    issuer: oauth.issuer,
    keys,
    audience,
    requiredScope: [oauth.requiredScope ?? []]
      .flat()
      .flatMap((scope) => scope.split(' '))
      .filter(Boolean),
    dpopRequired: dpop !== false,
    dpopNonce: typeof dpop === 'object' && dpop.nonce,
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

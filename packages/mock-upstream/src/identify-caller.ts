import type { IncomingHttpHeaders } from 'node:http';
import type { VerifiedAccessToken } from './oauth-access-token.js';
import type { ResolvedApiKey, ResolvedUser } from './options.js';
import type { Session, TokenRegistry } from './token-registry.js';

/** Who made an authenticated call. */
export type Caller =
  | { kind: 'token'; session: Session }
  | { kind: 'api-key'; apiKey: ResolvedApiKey; impersonated: ResolvedUser | undefined }
  | {
      kind: 'oauth';
      token: VerifiedAccessToken;
      dpop: boolean;
      user: ResolvedUser | undefined;
      orgId: string | number;
    };

/** The caller, or the reason the call is refused with 403. */
export type CallerResult = { ok: true; caller: Caller } | { ok: false; error: string };

const bearerScheme = /^Bearer +(\S+) *$/i;

/**
 * Authenticates a call by `Authorization: Bearer <token>` (valid, unexpired, not revoked)
 * or `x-api-key: <known key>`, with an optional `impersonate-user-id` that is honoured
 * when it names a known user.
 */
export function identifyCaller(
  headers: IncomingHttpHeaders,
  tokens: TokenRegistry,
  apiKeys: ReadonlyMap<string, ResolvedApiKey>,
  users: readonly ResolvedUser[],
): CallerResult {
  const authorization = headers.authorization;
  const apiKeyHeader = headerValue(headers['x-api-key']);
  let error = 'missing credentials: send Authorization: Bearer <token> or x-api-key';
  if (authorization !== undefined) {
    const token = bearerScheme.exec(authorization)?.[1];
    const session = token === undefined ? undefined : tokens.find(token);
    if (session !== undefined) return { ok: true, caller: { kind: 'token', session } };
    error =
      token === undefined
        ? 'malformed Authorization header'
        : 'session token is invalid, expired or revoked';
  }
  if (apiKeyHeader !== undefined) {
    const apiKey = apiKeys.get(apiKeyHeader);
    if (apiKey === undefined) return { ok: false, error: 'unknown API key' };
    const impersonateId = impersonateUserId(headers);
    const impersonated =
      impersonateId === undefined
        ? undefined
        : users.find((user) => String(user.id) === impersonateId.trim());
    return { ok: true, caller: { kind: 'api-key', apiKey, impersonated } };
  }
  return { ok: false, error };
}

/**
 * The caller of an accepted OAuth call: the user whose id is the token's `sub` (a token
 * from a refresh token of that user), acting in their first org; else no user (a
 * client-credentials token, whose `sub` is the client), acting in the first user's first
 * org like an API key without an org.
 */
export function oauthCaller(
  token: VerifiedAccessToken,
  dpop: boolean,
  users: readonly ResolvedUser[],
): Caller {
  const user = users.find((candidate) => String(candidate.id) === token.subject);
  const orgId = user?.orgs[0] ?? users[0]?.orgs[0] ?? 1;
  return { kind: 'oauth', token, dpop, user, orgId };
}

/** The user a call acts as, and the org it acts in. */
export interface ActingAs {
  readonly credential: 'token' | 'api-key' | 'oauth';
  readonly user: PublicUser;
  readonly orgId: string | number;
}

/** What the mock tells about a user: everything but the password and orgs. */
export interface PublicUser {
  readonly id: number;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
}

/**
 * Whom a call acts as: the token's user in the org chosen at login; for an API key the
 * impersonated user (else the key's synthetic service user) in the key's org; for an OAuth
 * token its user, else a synthetic client user, in the org of {@link oauthCaller}.
 */
export function actingAs(caller: Caller): ActingAs {
  if (caller.kind === 'token') {
    const { user, orgId } = caller.session;
    return { credential: 'token', user: publicUser(user), orgId };
  }
  if (caller.kind === 'oauth') {
    const user = caller.user ?? {
      id: 0,
      email: 'oauth-client@mock-upstream.invalid',
      firstName: 'OAuth',
      lastName: 'Client',
    };
    return { credential: 'oauth', user: publicUser(user), orgId: caller.orgId };
  }
  const { apiKey, impersonated } = caller;
  const user = impersonated ?? {
    id: apiKey.userId,
    email: 'api-key@mock-upstream.invalid',
    firstName: 'API',
    lastName: 'Key',
  };
  return { credential: 'api-key', user: publicUser(user), orgId: apiKey.orgId };
}

/**
 * Whether a call carries a bearer token this server never issued or an `x-api-key` it does
 * not know — a credential meant for another server — whatever else it carries. An OAuth
 * call's token is not a session token, so `oauthCall` leaves it to the OAuth check.
 */
export function carriesUnknownCredential(
  headers: IncomingHttpHeaders,
  tokens: TokenRegistry,
  apiKeys: ReadonlyMap<string, ResolvedApiKey>,
  oauthCall: boolean,
): boolean {
  const token = oauthCall ? undefined : bearerScheme.exec(headers.authorization ?? '')?.[1];
  const apiKey = headerValue(headers['x-api-key']);
  return (
    (token !== undefined && !tokens.issued(token)) || (apiKey !== undefined && !apiKeys.has(apiKey))
  );
}

/** The `impersonate-user-id` header (its first value), or `undefined` when absent. */
export function impersonateUserId(headers: IncomingHttpHeaders): string | undefined {
  return headerValue(headers['impersonate-user-id']);
}

function publicUser(user: PublicUser): PublicUser {
  return { id: user.id, email: user.email, firstName: user.firstName, lastName: user.lastName };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedApiKey, ResolvedUser } from './options.js';
import type { Session, TokenRegistry } from './token-registry.js';

/** Who made an authenticated call. */
export type Caller =
  | { kind: 'token'; session: Session }
  | { kind: 'api-key'; apiKey: ResolvedApiKey; impersonated: ResolvedUser | undefined };

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
    const impersonateId = headerValue(headers['impersonate-user-id']);
    const impersonated =
      impersonateId === undefined
        ? undefined
        : users.find((user) => String(user.id) === impersonateId.trim());
    return { ok: true, caller: { kind: 'api-key', apiKey, impersonated } };
  }
  return { ok: false, error };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

import { withImpersonation, withOrg, type AuthStrategy } from './auth-strategies.js';
import { ConfigError } from '../shared/errors.js';

/**
 * Whom `client.as()` acts as: the same user in another org (session auth), or another
 * user of the org through the API key (`impersonate-user-id`).
 */
export type AsOptions = { orgId: string | number } | { impersonateUserId: string | number };

/** How many impersonating clients one client keeps for reuse; the oldest is dropped past it. */
export const impersonationCacheSize = 1_000;

/**
 * The strategy of `client.as(options)` from the root client's strategy, and the key under
 * which the derived client is cached. Throws `ConfigError` (fields, never values) when the
 * options do not fit the client's auth.
 */
export function deriveIdentity(
  root: AuthStrategy,
  options: unknown,
): { strategy: AuthStrategy; cacheKey: string; impersonating: boolean } {
  const invalid = (path: string, message: string) =>
    new ConfigError([{ path: `as.${path}`, message }], 'invalid client.as() options');
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be { orgId } or { impersonateUserId }');
  }
  const keys = Object.keys(options);
  const [name] = keys;
  if (keys.length !== 1 || (name !== 'orgId' && name !== 'impersonateUserId')) {
    throw invalid('options', 'must be { orgId } or { impersonateUserId }, exactly one of them');
  }
  const value = (options as Record<string, unknown>)[name];
  if (!isId(value)) throw invalid(name, 'must be a non-empty string or an integer');

  if (name === 'orgId') {
    if (root.kind !== 'session') {
      throw invalid(
        'orgId',
        'needs session auth: an API key belongs to one org; use a client with that org’s key',
      );
    }
    const strategy = withOrg(root, value);
    if (strategy === undefined) {
      throw invalid('orgId', 'needs a strategy made by sessionTokenAuth() or { email, password }');
    }
    return { strategy, cacheKey: String(value), impersonating: false };
  }
  if (root.kind !== 'apiKey') {
    throw invalid(
      'impersonateUserId',
      'needs API key auth: the upstream documents impersonation for API keys only',
    );
  }
  const strategy = withImpersonation(root, value);
  if (strategy === undefined) {
    throw invalid('impersonateUserId', 'needs a strategy made by apiKeyAuth() or { apiKey }');
  }
  return { strategy, cacheKey: String(value), impersonating: true };
}

function isId(value: unknown): value is string | number {
  return (typeof value === 'string' && value !== '') || Number.isInteger(value);
}

import { ConfigError } from '../shared/errors.js';
import type { AuthStrategy, DerivedStrategy } from './strategy.js';

/**
 * Whom `client.as()` acts as: the same user in another org (session auth), another user of
 * the org through the API key (`impersonate-user-id`), or, for a strategy whose `derive`
 * takes them (`@tokenfetch/oauth2`), the same OAuth client for another scope or resource
 * (RFC 8707): each parameter set its own token, single flight and store key.
 */
export type AsOptions =
  { orgId: string | number } | { impersonateUserId: string | number } | OAuthAsOptions;

/** `client.as()` of an OAuth client: the token's parameters, either or both. */
export interface OAuthAsOptions {
  /** The scopes of the token (space-separated, or a list). */
  scope?: string | readonly string[];
  /** The resource indicators (RFC 8707) the token is for. */
  resource?: string | readonly string[];
}

/** The names of the built-in strategies' `as()` options. */
type AsName = 'orgId' | 'impersonateUserId';

/** A `ConfigError` of `client.as()` for the option at `path` (never its value). */
export function invalidAs(path: string, message: string): ConfigError {
  return new ConfigError([{ path: `as.${path}`, message }], 'invalid client.as() options');
}

/**
 * The one option of the built-in strategies' `as()`, checked: exactly one of `orgId` and
 * `impersonateUserId`, a non-empty string or an integer. The strategy then says whether
 * it is the one it takes.
 */
export function builtInAsOption(options: object): { name: AsName; value: string | number } {
  const keys = Object.keys(options);
  const [name] = keys;
  if (keys.length !== 1 || (name !== 'orgId' && name !== 'impersonateUserId')) {
    throw invalidAs('options', 'must be { orgId } or { impersonateUserId }, exactly one of them');
  }
  const value = (options as Record<string, unknown>)[name];
  if (!((typeof value === 'string' && value !== '') || Number.isInteger(value))) {
    throw invalidAs(name, 'must be a non-empty string or an integer');
  }
  return { name, value: value as string | number };
}

/**
 * The strategy of `client.as(options)`, from the root client's strategy (its `derive`),
 * and the key its client is kept under. Throws `ConfigError` (fields, never values) when
 * the options do not fit the client's auth.
 */
export function deriveStrategy(root: AuthStrategy, options: unknown): DerivedStrategy {
  if (typeof options !== 'object' || options === null) {
    throw invalidAs('options', 'must be { orgId }, { impersonateUserId } or { scope, resource }');
  }
  if (root.derive !== undefined) return root.derive(options);
  if ('scope' in options || 'resource' in options) {
    throw invalidAs(
      'scope' in options ? 'scope' : 'resource',
      'needs a strategy whose derive() takes it, such as clientCredentials() of @tokenfetch/oauth2',
    );
  }
  // A strategy of its own that cannot derive: say which built-in one could.
  const { name } = builtInAsOption(options);
  throw name === 'orgId'
    ? invalidAs('orgId', 'needs a strategy made by sessionTokenAuth() or { email, password }')
    : invalidAs('impersonateUserId', 'needs a strategy made by apiKeyAuth() or { apiKey }');
}

import { defaults } from '../shared/defaults.js';
import { ConfigError, type ConfigIssue } from '../shared/errors.js';
import { builtInAsOption, invalidAs } from './identity.js';
import { credentialHeaders, type ApiKeyAuthStrategy } from './strategy.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** Options of `apiKeyAuth`. */
export interface ApiKeyAuthOptions {
  /** The API key. Never printed. */
  apiKey: string;
  /**
   * The header that carries the key.
   * @default 'x-api-key'
   */
  header?: string;
  /** Act as this user of the org (`impersonate-user-id`). */
  impersonateUserId?: string | number;
}

/**
 * Sends an API key on every call: the upstream's recommended alternative to sessions.
 * Keys never expire, so there is no login and no token. `client.as({ impersonateUserId })`
 * acts as another user of the org.
 *
 * @example
 * createApiClient({ baseUrl, auth: apiKeyAuth({ apiKey: process.env.API_KEY! }) })
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): ApiKeyAuthStrategy {
  const { apiKey } = options;
  const header = (options.header ?? defaults.apiKeyHeader).toLowerCase();
  const impersonate =
    options.impersonateUserId === undefined ? undefined : String(options.impersonateUserId);
  // Checked here, once: fetch's own error for a bad header would quote the key.
  const issues: ConfigIssue[] = [];
  if (!sendable(header, 'x')) {
    issues.push({ path: 'header', message: 'must be an HTTP header name' });
  }
  if (!sendable('x-api-key', apiKey)) {
    issues.push({
      path: 'apiKey',
      message: 'must be a valid HTTP header value (no CR, LF or NUL)',
    });
  }
  if (impersonate !== undefined && !sendable('impersonate-user-id', impersonate)) {
    issues.push({
      path: 'impersonateUserId',
      message: 'must be a valid HTTP header value (no CR, LF or NUL)',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'invalid apiKeyAuth() options');
  const describe = {
    kind: 'apiKey',
    header,
    ...(impersonate === undefined ? {} : { impersonateUserId: impersonate }),
  };
  const secrets = [apiKey] as const;
  return {
    kind: 'apiKey',
    // Impersonation is tokenfetch's in every case: a caller-set header could make the
    // call act as someone else. A caller's Authorization is refused too: every credential
    // the upstream gets is tokenfetch's.
    headerNames: [...new Set([header, 'impersonate-user-id', ...credentialHeaders])],
    apply(headers) {
      headers.set(header, apiKey);
      if (impersonate !== undefined) headers.set('impersonate-user-id', impersonate);
    },
    derive(as) {
      const { name, value } = builtInAsOption(as);
      if (name !== 'impersonateUserId') {
        throw invalidAs(
          'orgId',
          'needs session auth: an API key belongs to one org; use a client with that org’s key',
        );
      }
      return {
        strategy: apiKeyAuth({ ...options, impersonateUserId: value }),
        key: String(value),
      };
    },
    secrets: () => secrets,
    toJSON: () => describe,
    [inspect]: () => `ApiKeyAuth ${JSON.stringify(describe)}`,
  } as ApiKeyAuthStrategy;
}

/** Whether fetch accepts this header (its error would quote the value). */
function sendable(name: string, value: string): boolean {
  try {
    new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

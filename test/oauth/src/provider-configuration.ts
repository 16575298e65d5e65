import { randomBytes } from 'node:crypto';
import { errors } from 'oidc-provider';
import type { ClientMetadata, Configuration, JWK } from 'oidc-provider';
import type { MemoryStore } from './memory-adapter.js';
import type { Resources } from './resources.js';

/** What the tests may change while the server runs; read by the configuration's functions. */
export interface LiveSettings {
  /** Access-token lifetime in seconds, for resources without their own. */
  accessTokenTtl: number;
  /** Refresh-token lifetime in seconds. */
  refreshTokenTtl: number;
  /** Whether a DPoP proof at the token endpoint must carry a server nonce. */
  dpopNonceRequired: boolean;
}

/** The parts of one authorization server that its oidc-provider configuration is built from. */
export interface ConfigurationInput {
  readonly resources: Resources;
  readonly clients: ClientMetadata[];
  /** The private signing key of access tokens, as a JWK with `kid` and `alg`. */
  readonly signingKey: JWK;
  readonly store: MemoryStore;
  readonly settings: LiveSettings;
}

/** How long a grant lives: longer than any refresh token a test makes, so it never ends first. */
const grantTtlSeconds = 7 * 24 * 60 * 60;

/**
 * oidc-provider's configuration for token-endpoint tests: the grants `client_credentials`
 * and `refresh_token` (rotated at every use), every client authentication method, DPoP
 * with server nonces on demand, revocation and introspection, and resource indicators
 * whose access tokens are JWTs (RFC 9068) signed with the server's ES256 key. Every
 * function oidc-provider asks a deployment to replace is replaced, so it warns about none
 * (except, on Node 20, its runtime: see the README).
 */
export function providerConfiguration(input: ConfigurationInput): Configuration {
  const { resources, settings } = input;
  return {
    adapter: input.store.adapterClass(),
    clients: input.clients,
    jwks: { keys: [input.signingKey] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => settings.dpopNonceRequired,
      },
      introspection: { enabled: true, allowedPolicy: () => true },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? resources.default,
        getResourceServerInfo: (ctx, indicator) => {
          const resource = resources.get(indicator);
          if (resource === undefined) throw new errors.InvalidTarget();
          if (ctx.oidc.params?.grant_type === 'client_credentials') {
            const defined = new Set(resource.scope.split(' '));
            const requested = String(ctx.oidc.params.scope ?? '').split(' ');
            const unknown = requested.filter((scope) => scope !== '' && !defined.has(scope));
            if (unknown.length > 0) {
              throw new errors.InvalidScope(
                'the resource defines no such scope',
                unknown.join(' '),
              );
            }
          }
          return {
            scope: resource.scope,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
            ...(resource.accessTokenTtl !== undefined && {
              accessTokenTTL: resource.accessTokenTtl,
            }),
          };
        },
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? settings.accessTokenTtl,
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? settings.accessTokenTtl,
      RefreshToken: () => settings.refreshTokenTtl,
      Grant: grantTtlSeconds,
    },
  };
}

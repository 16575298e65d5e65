import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { JWK } from 'oidc-provider';
import { MemoryStore } from './memory-adapter.js';
import { providerConfiguration } from './provider-configuration.js';
import type { LiveSettings } from './provider-configuration.js';
import { issueRefreshToken } from './refresh-tokens.js';
import type { RefreshTokenRequest } from './refresh-tokens.js';
import { defaultResources, Resources } from './resources.js';
import type { ResourceDefinition } from './resources.js';
import { makeTestClients } from './test-clients.js';
import type { TestClients } from './test-clients.js';
import { TokenRequests } from './token-requests.js';
import type { TokenFailure, TokenRequestRecord } from './token-requests.js';

/** Options of {@link startAuthorizationServer}. Every field is optional. */
export interface AuthorizationServerOptions {
  /**
   * Lifetime of access tokens, in whole seconds, for resources without their own
   * (`setAccessTokenTtl()` changes it later). @default 300
   */
  accessTokenTtl?: number;
  /** Lifetime of refresh tokens, in whole seconds; each rotation starts a new one. @default 3600 */
  refreshTokenTtl?: number;
  /**
   * The resource servers (RFC 8707) by resource indicator: the scopes each defines and,
   * optionally, its own access-token lifetime. Each access token is for one of them (`aud`).
   * @default { 'https://api.tokenfetch.test': { scope: 'read write' } }
   */
  resources?: Readonly<Record<string, ResourceDefinition>>;
  /** The resource of a request that names none. @default the first of `resources` */
  defaultResource?: string;
  /** Whether DPoP proofs at the token endpoint must carry a server nonce from the start. @default false */
  dpopNonce?: boolean;
}

/** A running oidc-provider on loopback, with the controls a token-endpoint test needs. */
export interface AuthorizationServer {
  /** `http://127.0.0.1:PORT`: the issuer identifier, and the base of both discovery documents. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** RFC 7009. */
  readonly revocationEndpoint: string;
  /** RFC 7662: for refresh tokens (access tokens are JWTs, which it does not introspect). */
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  /** The public keys access tokens are signed with, for a resource server given keys rather than `jwksUri`. */
  readonly jwks: { keys: JWK[] };
  /** The default resource indicator: the `aud` of a token whose request named no resource. */
  readonly resource: string;
  /** The registered clients, one per authentication method, with their secrets and keys. */
  readonly clients: TestClients;
  /** The oidc-provider instance, for what these controls do not cover (its events, its models). */
  readonly provider: Provider;
  /** Every token request so far, oldest first, with its outcome (a copy). */
  readonly tokenRequests: TokenRequestRecord[];
  /** Forgets the token requests recorded so far. */
  resetTokenRequests(): void;
  /**
   * The next `count` token requests, whichever client sends them, are answered with
   * `failure` before oidc-provider sees them: nothing is consumed or rotated.
   * @default count: 1
   */
  failNextTokenRequests(failure: TokenFailure, count?: number): void;
  /**
   * Whether DPoP proofs at the token endpoint must carry a server nonce: one without a
   * current nonce gets `400 use_dpop_nonce` with a `DPoP-Nonce` header. oidc-provider's
   * nonces change every minute and stay valid 3–4 minutes: move the clock (fake `Date`)
   * to make the nonces a client holds stale.
   */
  setDpopNonceRequired(required: boolean): void;
  /** Access tokens issued from now on live `seconds` (resources with their own lifetime keep it). */
  setAccessTokenTtl(seconds: number): void;
  /**
   * A refresh token for a user, as an authorization-code exchange would have issued it,
   * without a browser.
   * @default request: the `client_secret_basic` client, user `'1'`, the default resource with all its scopes
   */
  issueRefreshToken(request?: Partial<RefreshTokenRequest>): Promise<string>;
  /**
   * Revokes the grant `refreshToken` belongs to: it and every refresh token rotated from it
   * get `invalid_grant` from now on. Unknown tokens are ignored.
   */
  revokeRefreshToken(refreshToken: string): Promise<void>;
  /** Stops the server and destroys open sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a real OAuth 2.0 authorization server — oidc-provider, the certified OpenID
 * provider for Node — on `http://127.0.0.1` and a free port, with the clients of
 * {@link TestClients}.
 *
 * @example
 * ```ts
 * const as = await startAuthorizationServer({ accessTokenTtl: 60 });
 * const mock = await startMockUpstream({
 *   oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource },
 * });
 * // … a client with as.clients.secretBasic calls mock.baseUrl …
 * expect(as.tokenRequests).toHaveLength(1);
 * await Promise.all([mock.close(), as.close()]);
 * ```
 */
export async function startAuthorizationServer(
  options: AuthorizationServerOptions = {},
): Promise<AuthorizationServer> {
  const settings: LiveSettings = {
    accessTokenTtl: seconds('accessTokenTtl', options.accessTokenTtl ?? 300),
    refreshTokenTtl: seconds('refreshTokenTtl', options.refreshTokenTtl ?? 3600),
    dpopNonceRequired: options.dpopNonce ?? false,
  };
  const resources = new Resources(options.resources ?? defaultResources, options.defaultResource);
  const { clients, metadata } = await makeTestClients();
  const { signingKey, publicKey } = makeSigningKey();
  const store = new MemoryStore();

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The issuer names the port, so the provider is made once the server listens.
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(
    issuer,
    providerConfiguration({ resources, clients: metadata, signingKey, store, settings }),
  );
  const tokenRequests = new TokenRequests(provider.pathFor('token'));
  provider.use(tokenRequests.middleware());
  const handle = provider.callback();
  server.on('request', (req, res) => {
    void handle(req, res); // Koa answers its own errors: the promise never rejects
  });

  let closing: Promise<void> | undefined;

  return {
    issuer,
    tokenEndpoint: provider.urlFor('token'),
    revocationEndpoint: provider.urlFor('revocation'),
    introspectionEndpoint: provider.urlFor('introspection'),
    jwksUri: provider.urlFor('jwks'),
    jwks: { keys: [publicKey] },
    resource: resources.default,
    clients,
    provider,
    get tokenRequests() {
      return tokenRequests.records;
    },
    resetTokenRequests() {
      tokenRequests.reset();
    },
    failNextTokenRequests(failure, count = 1) {
      tokenRequests.failNext(failure, count);
    },
    setDpopNonceRequired(required) {
      settings.dpopNonceRequired = required;
    },
    setAccessTokenTtl(value) {
      settings.accessTokenTtl = seconds('accessTokenTtl', value);
    },
    issueRefreshToken(request = {}) {
      return issueRefreshToken(provider, resources, {
        clientId: clients.secretBasic.clientId,
        ...request,
      });
    },
    async revokeRefreshToken(refreshToken) {
      const token = await provider.RefreshToken.find(refreshToken, { ignoreExpiration: true });
      if (token?.grantId !== undefined) store.revokeGrant(token.grantId);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** A fresh ES256 key pair for signing access tokens, as JWKs: oidc-provider's private one, and its public half. */
function makeSigningKey(): { signingKey: JWK; publicKey: JWK } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const parameters = { kid: 'as-signing-1', alg: 'ES256', use: 'sig' };
  return {
    signingKey: { ...pair.privateKey.export({ format: 'jwk' }), ...parameters },
    publicKey: { ...pair.publicKey.export({ format: 'jwk' }), ...parameters },
  };
}

function seconds(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `${name} must be a positive whole number of seconds, got ${String(value)}`,
    );
  }
  return value;
}

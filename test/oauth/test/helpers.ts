import * as oauth from 'oauth4webapi';
import { afterEach } from 'vitest';
import { startMockUpstream } from '@tokenfetch/mock-upstream';
import type { MockOAuthOptions, MockUpstream } from '@tokenfetch/mock-upstream';
import { startAuthorizationServer } from '../src/index.js';
import type {
  AuthorizationServer,
  AuthorizationServerOptions,
  PrivateKeyJwtClient,
  PublicClient,
  SecretClient,
} from '../src/index.js';

// What the fixture's tests share: servers closed after each test, and the fixture's
// clients in oauth4webapi's terms (the library @tokenfetch/oauth2 is built on).

const started: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

/** An authorization server closed after the test. */
export async function startAs(options?: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const as = await startAuthorizationServer(options);
  started.push(as);
  return as;
}

/** A mock upstream that takes `as`'s access tokens for its default resource, closed after the test. */
export async function startResourceServer(
  as: AuthorizationServer,
  oauthOptions: Partial<MockOAuthOptions> = {},
  now?: () => number,
): Promise<MockUpstream> {
  const mock = await startMockUpstream({
    oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource, ...oauthOptions },
    ...(now && { now }),
  });
  started.push(mock);
  return mock;
}

/** oauth4webapi refuses plain http unless told; the fixture serves http on loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

const metadataOf = new WeakMap<AuthorizationServer, Promise<oauth.AuthorizationServer>>();

/** The server's metadata, by RFC 8414 discovery (`/.well-known/oauth-authorization-server`), once per server. */
export function discover(as: AuthorizationServer): Promise<oauth.AuthorizationServer> {
  let metadata = metadataOf.get(as);
  if (metadata === undefined) {
    const issuer = new URL(as.issuer);
    metadata = oauth
      .discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' })
      .then((response) => oauth.processDiscoveryResponse(issuer, response));
    metadataOf.set(as, metadata);
  }
  return metadata;
}

/** A fixture client as oauth4webapi's client and client authentication. */
export function asOAuthClient(client: SecretClient | PrivateKeyJwtClient | PublicClient): {
  client: oauth.Client;
  auth: oauth.ClientAuth;
} {
  const auth =
    client.authMethod === 'client_secret_basic'
      ? oauth.ClientSecretBasic(client.clientSecret)
      : client.authMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(client.clientSecret)
        : client.authMethod === 'private_key_jwt'
          ? oauth.PrivateKeyJwt({ key: client.privateKey, kid: client.kid })
          : oauth.None();
  return { client: { client_id: client.clientId }, auth };
}

/** A client-credentials token for `client` (default: the Basic one). */
export async function clientCredentials(
  as: AuthorizationServer,
  parameters: Record<string, string> = {},
  options: { client?: SecretClient | PrivateKeyJwtClient; DPoP?: oauth.DPoPHandle } = {},
): Promise<oauth.TokenEndpointResponse> {
  const metadata = await discover(as);
  const { client, auth } = asOAuthClient(options.client ?? as.clients.secretBasic);
  const response = await oauth.clientCredentialsGrantRequest(metadata, client, auth, parameters, {
    ...insecure,
    ...(options.DPoP && { DPoP: options.DPoP }),
  });
  return oauth.processClientCredentialsResponse(metadata, client, response);
}

/** The claims of a JWT, unverified (the resource server verifies). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Runs `request`, and once more if it failed for a DPoP nonce (the handle then holds it). */
export async function withNonceRetry<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return request();
  }
}

import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import type { ClientMetadata } from 'oidc-provider';

/** A client that authenticates with a secret, in the Authorization header or in the body. */
export interface SecretClient {
  readonly clientId: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  readonly clientSecret: string;
}

/**
 * A client that authenticates with a JWT signed by its own key (`private_key_jwt`, RFC 7523).
 * The server knows only `publicJwk`; the test holds the private key, as a `CryptoKey` for
 * code in this process and as a JWK to hand to a child process.
 */
export interface PrivateKeyJwtClient {
  readonly clientId: string;
  readonly authMethod: 'private_key_jwt';
  /** The signing algorithm the server expects of the assertion. */
  readonly alg: 'ES256';
  /** The key id, in the server's copy of the public key and expected in the assertion header. */
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey;
}

/** A public client (`none`): no secret, so only the refresh-token grant. */
export interface PublicClient {
  readonly clientId: string;
  readonly authMethod: 'none';
}

/** The clients every authorization server of this fixture registers. */
export interface TestClients {
  /** `client_secret_basic`: client credentials and refresh tokens. */
  readonly secretBasic: SecretClient;
  /** `client_secret_post`: client credentials and refresh tokens. */
  readonly secretPost: SecretClient;
  /** `private_key_jwt` with an ES256 key: client credentials and refresh tokens. */
  readonly privateKeyJwt: PrivateKeyJwtClient;
  /** `none`: refresh tokens only. */
  readonly public: PublicClient;
}

/**
 * Makes the test clients, with fresh secrets and a fresh key pair, and their registration
 * metadata for oidc-provider. Their scopes are not limited: each resource defines its own.
 */
export async function makeTestClients(): Promise<{
  clients: TestClients;
  metadata: ClientMetadata[];
}> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateJwk = pair.privateKey.export({ format: 'jwk' });
  const publicJwk = pair.publicKey.export({ format: 'jwk' });
  const privateKey = await webcrypto.subtle.importKey(
    'jwk',
    privateJwk,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const kid = 'private-key-jwt-1';

  const clients: TestClients = {
    secretBasic: {
      clientId: 'secret-basic',
      authMethod: 'client_secret_basic',
      clientSecret: secret(),
    },
    secretPost: {
      clientId: 'secret-post',
      authMethod: 'client_secret_post',
      clientSecret: secret(),
    },
    privateKeyJwt: {
      clientId: 'private-key-jwt',
      authMethod: 'private_key_jwt',
      alg: 'ES256',
      kid,
      privateKey,
      privateJwk,
      publicJwk,
    },
    public: { clientId: 'public', authMethod: 'none' },
  };

  // No authorization endpoint: tokens come from the token endpoint only.
  const common = { response_types: [], redirect_uris: [] };
  const confidential = { ...common, grant_types: ['client_credentials', 'refresh_token'] };
  const metadata: ClientMetadata[] = [
    {
      ...confidential,
      client_id: clients.secretBasic.clientId,
      client_secret: clients.secretBasic.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...confidential,
      client_id: clients.secretPost.clientId,
      client_secret: clients.secretPost.clientSecret,
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      ...confidential,
      client_id: clients.privateKeyJwt.clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] },
    },
    {
      ...common,
      client_id: clients.public.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: ['refresh_token'],
    },
  ];

  return { clients, metadata };
}

function secret(): string {
  return randomBytes(32).toString('base64url');
}

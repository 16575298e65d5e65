import * as oauth from 'oauth4webapi';

/** How the client authenticates at the token endpoint. */
export type ClientAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/**
 * The key of `private_key_jwt` (RFC 7523): a `CryptoKey` (its `kid` alongside, when the
 * server needs one), or a private JWK (its `alg`, or one its key type implies; its `kid`).
 */
export type PrivateKeyInput = CryptoKey | JsonWebKey | { key: CryptoKey; kid?: string };

/** oauth4webapi's client authentication for the options, made once (a JWK imported once). */
export function clientAuthFor(
  method: ClientAuthMethod,
  clientSecret: string | undefined,
  privateKey: PrivateKeyInput | undefined,
): () => Promise<oauth.ClientAuth> {
  switch (method) {
    case 'client_secret_basic': {
      const auth = oauth.ClientSecretBasic(clientSecret!);
      return () => Promise.resolve(auth);
    }
    case 'client_secret_post': {
      const auth = oauth.ClientSecretPost(clientSecret!);
      return () => Promise.resolve(auth);
    }
    case 'none': {
      const auth = oauth.None();
      return () => Promise.resolve(auth);
    }
    case 'private_key_jwt': {
      let auth: Promise<oauth.ClientAuth> | undefined;
      return () =>
        (auth ??= signingKey(privateKey!)
          .then((key) => oauth.PrivateKeyJwt(key))
          .catch((error: unknown) => {
            auth = undefined;
            throw error;
          }));
    }
  }
}

/** Whether `value` is a WebCrypto key (of any realm). */
export function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CryptoKey).type === 'string' &&
    typeof (value as CryptoKey).algorithm === 'object' &&
    Array.isArray((value as CryptoKey).usages)
  );
}

async function signingKey(input: PrivateKeyInput): Promise<oauth.PrivateKey | CryptoKey> {
  if (isCryptoKey(input)) return input;
  if ('key' in input && isCryptoKey(input.key)) {
    return input.kid === undefined ? { key: input.key } : { key: input.key, kid: input.kid };
  }
  const jwk = input as JsonWebKey & { kid?: string };
  const algorithm = importAlgorithm(jwk);
  const key = await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign']);
  return jwk.kid === undefined ? { key } : { key, kid: jwk.kid };
}

/** The WebCrypto import parameters of a private JWK, from its `alg` or its key type. */
export function importAlgorithm(
  jwk: JsonWebKey,
): RsaHashedImportParams | EcKeyImportParams | Algorithm {
  const alg = jwk.alg;
  if (jwk.kty === 'EC') {
    const namedCurve = jwk.crv ?? 'P-256';
    return { name: 'ECDSA', namedCurve };
  }
  if (jwk.kty === 'OKP') return { name: jwk.crv ?? 'Ed25519' };
  if (jwk.kty === 'RSA') {
    const bits = alg?.slice(2) ?? '256';
    const hash = `SHA-${bits}`;
    return { name: alg?.startsWith('PS') ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash };
  }
  throw new TypeError('unsupported private key type');
}

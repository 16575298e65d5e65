import { ConfigError, type ConfigIssue } from '@tokenfetch/core';
import { isAllowedEndpoint } from './authorization-server.js';
import { isCryptoKey, type ClientAuthMethod, type PrivateKeyInput } from './client-auth.js';
import { resourceList, scopeList, type TokenParameters } from './parameters.js';

/** What both strategies take: where the token endpoint is, and who the client is. */
export interface OAuthClientOptions {
  /**
   * The token endpoint: https, or plain http to a loopback host. The client secret (or
   * assertion) goes here only; the access token never does. One of `tokenUrl` and `issuer`.
   * @example 'https://auth.example.com/oauth2/token'
   */
  tokenUrl?: string;
  /**
   * The authorization server's issuer: its token endpoint is found by discovery (RFC 8414,
   * then OpenID Connect), once per client, https (plain http to a loopback host).
   * @example 'https://login.example.com/realms/acme'
   */
  issuer?: string;
  /** The client's id. */
  clientId: string;
  /** The client's secret. Never printed; sent to the token endpoint only. */
  clientSecret?: string;
  /**
   * How the client authenticates at the token endpoint.
   * @default 'client_secret_basic' with a `clientSecret`, 'private_key_jwt' with a `privateKey`
   */
  clientAuth?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /**
   * The key of `private_key_jwt` (RFC 7523): a `CryptoKey` (`{ key, kid }` to name it), or a
   * private JWK (its `kid` is sent).
   */
  privateKey?: PrivateKeyInput;
  /**
   * The scopes to ask for: a space-separated string or a list.
   * @example 'read write'
   */
  scope?: string | readonly string[];
  /**
   * The resource indicators (RFC 8707) the token is for: absolute URLs.
   * @example 'https://api.example.com'
   */
  resource?: string | readonly string[];
  /**
   * DPoP (RFC 9449): `true` makes an ES256 key pair for this client (its tokens then stay
   * in this process); a `CryptoKeyPair` of your own (extractable public key) is used as is.
   * @default false
   */
  dpop?: boolean | CryptoKeyPair;
  /**
   * The longest a token is trusted, from when it was requested; the token's `expires_in`
   * (or a JWT's `exp`) usually ends it sooner.
   * @default 3_600_000 (an hour)
   */
  ttlMs?: number;
}

/** The options once checked. */
export interface CheckedClient {
  tokenUrl: string | undefined;
  issuer: string | undefined;
  clientId: string;
  clientSecret: string | undefined;
  clientAuth: ClientAuthMethod;
  privateKey: PrivateKeyInput | undefined;
  parameters: TokenParameters;
  dpop: CryptoKeyPair | 'generate' | undefined;
  ttlMs: number;
}

const defaultTtlMs = 3_600_000;

/**
 * Checks the options common to both strategies; every problem goes to `issues`, by field,
 * never with its value.
 */
export function checkClientOptions(
  options: OAuthClientOptions,
  issues: ConfigIssue[],
  allowNone: boolean,
): CheckedClient {
  const given = (options ?? {}) as Partial<Record<keyof OAuthClientOptions, unknown>>;
  const url = (name: 'tokenUrl' | 'issuer') => {
    const value = given[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !URL.canParse(value)) {
      issues.push({ path: `auth.${name}`, message: 'must be an absolute URL' });
      return undefined;
    }
    const parsed = new URL(value);
    if (!isAllowedEndpoint(parsed)) {
      issues.push({
        path: `auth.${name}`,
        message: 'must be https (plain http only to a loopback host)',
      });
    } else if (parsed.username !== '' || parsed.password !== '') {
      issues.push({ path: `auth.${name}`, message: 'must not carry user info' });
    } else if (parsed.hash !== '' || (name === 'issuer' && parsed.search !== '')) {
      issues.push({ path: `auth.${name}`, message: 'must not carry a fragment or a query' });
    }
    return value;
  };
  const tokenUrl = url('tokenUrl');
  const issuer = url('issuer');
  if ((given.tokenUrl === undefined) === (given.issuer === undefined)) {
    issues.push({ path: 'auth.tokenUrl', message: 'give one of tokenUrl and issuer' });
  }
  if (typeof given.clientId !== 'string' || given.clientId === '') {
    issues.push({ path: 'auth.clientId', message: 'must be a non-empty string' });
  }
  const secret = given.clientSecret;
  if (secret !== undefined && (typeof secret !== 'string' || secret === '')) {
    issues.push({ path: 'auth.clientSecret', message: 'must be a non-empty string' });
  }
  const privateKey = given.privateKey;
  if (
    privateKey !== undefined &&
    !(
      isCryptoKey(privateKey) ||
      isJwk(privateKey) ||
      isCryptoKey((privateKey as { key?: unknown }).key)
    )
  ) {
    issues.push({
      path: 'auth.privateKey',
      message: 'must be a CryptoKey, { key: CryptoKey, kid? } or a private JWK',
    });
  }
  const clientAuth = (given.clientAuth ??
    (privateKey !== undefined
      ? 'private_key_jwt'
      : secret !== undefined
        ? 'client_secret_basic'
        : 'none')) as ClientAuthMethod;
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt'].includes(clientAuth)) {
    if (!(allowNone && clientAuth === 'none' && given.clientAuth === undefined)) {
      issues.push({
        path: 'auth.clientAuth',
        message: allowNone
          ? "must be 'client_secret_basic', 'client_secret_post' or 'private_key_jwt' (none: give no secret and no key)"
          : 'needs a clientSecret or a privateKey',
      });
    }
  } else if (clientAuth === 'private_key_jwt' ? privateKey === undefined : secret === undefined) {
    issues.push({
      path: clientAuth === 'private_key_jwt' ? 'auth.privateKey' : 'auth.clientSecret',
      message: `required with clientAuth '${clientAuth}'`,
    });
  }
  const parameters = {
    scope: scopeList(given.scope, 'auth.scope', issues),
    resource: resourceList(given.resource, 'auth.resource', issues),
  };
  const dpop = given.dpop;
  let dpopKey: CryptoKeyPair | 'generate' | undefined;
  if (dpop === true) dpopKey = 'generate';
  else if (dpop === undefined || dpop === false) dpopKey = undefined;
  else if (
    typeof dpop === 'object' &&
    dpop !== null &&
    isCryptoKey((dpop as CryptoKeyPair).privateKey) &&
    isCryptoKey((dpop as CryptoKeyPair).publicKey)
  ) {
    dpopKey = dpop as CryptoKeyPair;
  } else {
    issues.push({ path: 'auth.dpop', message: 'must be a boolean or a CryptoKeyPair' });
  }
  const ttlMs = given.ttlMs ?? defaultTtlMs;
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1_000) {
    issues.push({ path: 'auth.ttlMs', message: 'must be an integer of at least 1000' });
  }
  return {
    tokenUrl,
    issuer,
    clientId: given.clientId as string,
    clientSecret: secret as string | undefined,
    clientAuth,
    privateKey: privateKey as PrivateKeyInput | undefined,
    parameters,
    dpop: dpopKey,
    ttlMs: ttlMs as number,
  };
}

function isJwk(value: unknown): value is JsonWebKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as JsonWebKey).kty === 'string' &&
    typeof (value as JsonWebKey).d === 'string'
  );
}

/** Throws the `ConfigError` of `issues`, if any. */
export function throwIssues(issues: ConfigIssue[], title: string): void {
  if (issues.length > 0) throw new ConfigError(issues, title);
}

import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import type { ResolvedOAuthOptions } from './options.js';

/** What an accepted OAuth access token stands for. */
export interface VerifiedAccessToken {
  /** The token's `jti` (or, without one, the token itself): what `revokeTokens()` remembers. */
  readonly id: string;
  /** `sub`: the user, or for client credentials the client. */
  readonly subject: string;
  /** `client_id`. */
  readonly clientId: string;
  /** `scope`, split. */
  readonly scope: readonly string[];
  /** `aud`, as a list. */
  readonly audience: readonly string[];
  /** `cnf.jkt`: the thumbprint of the key the token is bound to (DPoP), if any. */
  readonly boundKey: string | undefined;
}

/** Why an access token was refused, as counted in `stats.oauthRejections`. */
export type AccessTokenRejection = 'malformed' | 'signature' | 'issuer' | 'audience' | 'expired';

export type AccessTokenResult =
  | { ok: true; token: VerifiedAccessToken }
  | { ok: false; reason: AccessTokenRejection; description: string };

/**
 * Checks JWT access tokens (RFC 9068) of one issuer for one audience: `typ: at+jwt`, a
 * signature by one of the issuer's keys, `iss`, `aud`, and `exp` by the mock's clock.
 */
export class AccessTokenVerifier {
  readonly #keys: JWTVerifyGetKey;
  readonly #options: ResolvedOAuthOptions;
  readonly #now: () => number;

  constructor(options: ResolvedOAuthOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#keys =
      'jwksUri' in options.keys
        ? createRemoteJWKSet(options.keys.jwksUri)
        : createLocalJWKSet(options.keys.jwks as JSONWebKeySet);
  }

  async verify(token: string): Promise<AccessTokenResult> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#options.issuer,
        audience: [...this.#options.audience],
        typ: 'at+jwt',
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      return { ok: false, ...classify(error) };
    }
    const { sub, client_id: clientId, scope, aud, jti, cnf } = payload;
    if (typeof sub !== 'string' || typeof clientId !== 'string') {
      return { ok: false, reason: 'malformed', description: 'access token lacks sub or client_id' };
    }
    const boundKey = (cnf as { jkt?: unknown } | undefined)?.jkt;
    return {
      ok: true,
      token: {
        id: typeof jti === 'string' ? jti : token,
        subject: sub,
        clientId,
        scope: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [],
        audience: [aud ?? []].flat(),
        boundKey: typeof boundKey === 'string' ? boundKey : undefined,
      },
    };
  }
}

/** The reason for a jose verification error; rethrows what is not about the token (a JWKS fetch failing). */
function classify(error: unknown): { reason: AccessTokenRejection; description: string } {
  if (error instanceof errors.JWTExpired) {
    return { reason: 'expired', description: 'access token expired' };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return { reason: 'issuer', description: 'unexpected issuer' };
    if (error.claim === 'aud') return { reason: 'audience', description: 'not for this audience' };
    return { reason: 'malformed', description: `access token ${error.claim} check failed` };
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return { reason: 'signature', description: 'not signed by the issuer' };
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported
  ) {
    return { reason: 'malformed', description: 'not a JWT access token' };
  }
  throw error;
}

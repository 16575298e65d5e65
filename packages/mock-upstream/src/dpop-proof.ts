import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

/** A proof's `iat` may be this far from the mock's clock, either way. */
export const dpopProofWindowSeconds = 60;

/** The asymmetric algorithms a DPoP proof may be signed with (announced in `algs`). */
export const dpopAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'];

/** Why a DPoP proof was refused, as counted in `stats.oauthRejections`. */
export type DpopProofRejection =
  'dpop_proof' | 'dpop_htm' | 'dpop_htu' | 'dpop_iat' | 'dpop_ath' | 'dpop_binding';

/** The request a proof must be for, and the token it must go with. */
export interface ProofExpectation {
  /** The request's method. */
  readonly method: string;
  /** The request's URL as the client addressed it (query and fragment are ignored). */
  readonly url: URL;
  /** The access token sent with the proof (`ath` is its SHA-256). */
  readonly accessToken: string;
  /** The thumbprint the access token is bound to (`cnf.jkt`); `undefined` for an unbound token. */
  readonly boundKey: string | undefined;
  /** The mock's clock, epoch milliseconds. */
  readonly now: number;
}

export type DpopProofResult =
  | { ok: true; jti: string; nonce: string | undefined }
  | { ok: false; reason: DpopProofRejection; description: string };

/**
 * Checks a DPoP proof (RFC 9449 section 4.3) for a resource request: a `dpop+jwt` signed by
 * the public key in its own header, for this method (`htm`) and URL (`htu`), recent (`iat`),
 * for this access token (`ath`), by the key the token is bound to. The nonce and `jti`
 * replay are the caller's, which keeps their state.
 */
export async function verifyDpopProof(
  proof: string,
  expected: ProofExpectation,
): Promise<DpopProofResult> {
  let payload: JWTPayload;
  let thumbprint: string;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: dpopAlgorithms,
      currentDate: new Date(expected.now),
    });
    payload = verified.payload;
    if (verified.protectedHeader.jwk === undefined) throw new Error('no jwk');
    thumbprint = await calculateJwkThumbprint(verified.protectedHeader.jwk);
  } catch {
    return refuse('dpop_proof', 'not a dpop+jwt signed by the key in its header');
  }
  const { htm, htu, iat, ath, jti, nonce } = payload;
  if (typeof jti !== 'string' || jti === '') return refuse('dpop_proof', 'proof has no jti');
  if (htm !== expected.method) return refuse('dpop_htm', 'proof htm is not the request method');
  if (typeof htu !== 'string' || withoutQuery(htu) !== withoutQuery(expected.url.href)) {
    return refuse('dpop_htu', 'proof htu is not the request URL');
  }
  if (typeof iat !== 'number' || Math.abs(expected.now / 1000 - iat) > dpopProofWindowSeconds) {
    return refuse('dpop_iat', 'proof iat is not recent');
  }
  if (ath !== createHash('sha256').update(expected.accessToken).digest('base64url')) {
    return refuse('dpop_ath', 'proof ath is not the hash of the access token');
  }
  if (expected.boundKey === undefined || thumbprint !== expected.boundKey) {
    return refuse('dpop_binding', 'access token is not bound to the proof key');
  }
  return { ok: true, jti, nonce: typeof nonce === 'string' ? nonce : undefined };
}

function refuse(reason: DpopProofRejection, description: string): DpopProofResult {
  return { ok: false, reason, description };
}

/** The URL without query and fragment, normalised; `''` when unparseable. */
function withoutQuery(value: string): string {
  try {
    const url = new URL(value);
    url.search = '';
    url.hash = '';
    return url.href;
  } catch {
    return '';
  }
}

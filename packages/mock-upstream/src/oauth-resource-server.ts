import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { dpopAlgorithms, dpopProofWindowSeconds, verifyDpopProof } from './dpop-proof.js';
import type { DpopProofRejection } from './dpop-proof.js';
import { AccessTokenVerifier } from './oauth-access-token.js';
import type { AccessTokenRejection, VerifiedAccessToken } from './oauth-access-token.js';
import type { ResolvedOAuthOptions } from './options.js';

/**
 * Why the mock refused an OAuth call; the keys of `stats.oauthRejections`. The token:
 * `malformed` (not a JWT access token), `signature` (not signed by the issuer's keys),
 * `issuer`, `audience`, `expired`, `revoked` (seen before `revokeTokens()`),
 * `insufficient_scope` (lacks a `requiredScope`; 403), `dpop_required` (sent as a bearer
 * token where a proof is needed: the mock requires DPoP, or the token is DPoP-bound). The
 * proof: `dpop_proof` (missing, or not a `dpop+jwt` signed by the key in its header),
 * `dpop_htm`, `dpop_htu`, `dpop_iat` (not within a minute of the mock's clock), `dpop_ath`
 * (not for this token), `dpop_binding` (its key is not the token's `cnf.jkt`),
 * `dpop_replay` (its `jti` was used before).
 */
export type MockOAuthRejection =
  | AccessTokenRejection
  | DpopProofRejection
  | 'revoked'
  | 'dpop_required'
  | 'dpop_replay'
  | 'insufficient_scope';

/** The outcome of an OAuth call's credentials: its token, or the answer to refuse it with. */
export type OAuthOutcome =
  | { ok: true; token: VerifiedAccessToken; dpop: boolean }
  | {
      ok: false;
      /** `use_dpop_nonce` is a challenge to retry with `DPoP-Nonce`, not a refusal of the token. */
      reason: MockOAuthRejection | 'use_dpop_nonce';
      /** Whether the token is not this resource server's (another issuer's, or another audience's). */
      foreign: boolean;
      status: 401 | 403;
      headers: Record<string, string>;
      body: { error: string; error_description: string };
    };

const tokenScheme = /^(Bearer|DPoP) +([\w.~+/-]+=*) *$/i;
const jwtShape = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const foreignReasons = new Set<string>(['signature', 'issuer', 'audience']);

/**
 * The mock's OAuth resource-server side (RFC 6750, RFC 9068, RFC 9449): which calls it
 * takes, their check, and its state — the current DPoP nonce, the access tokens seen (for
 * `revokeTokens()`), and the proof `jti`s seen (replay).
 */
export class OAuthResourceServer {
  readonly #options: ResolvedOAuthOptions;
  readonly #now: () => number;
  readonly #verifier: AccessTokenVerifier;
  #seen = new Set<string>();
  readonly #revoked = new Set<string>();
  /** Proof `jti` → epoch ms after which its `iat` is out of the window anyway. */
  readonly #proofs = new Map<string, number>();
  #nonce = randomBytes(16).toString('base64url');

  constructor(options: ResolvedOAuthOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#verifier = new AccessTokenVerifier(options, now);
  }

  /**
   * Whether a call with this `Authorization` header is an OAuth call: the DPoP scheme, or a
   * bearer token shaped like a JWT (session tokens are opaque, so they are not).
   */
  takes(authorization: string | undefined): boolean {
    const match = tokenScheme.exec(authorization ?? '');
    if (match === null) return false;
    return match[1]?.toLowerCase() === 'dpop' || jwtShape.test(match[2] ?? '');
  }

  /** Checks an OAuth call (one that {@link takes} accepts) made to `url` with `method`. */
  async authenticate(
    method: string,
    url: URL,
    headers: IncomingHttpHeaders,
  ): Promise<OAuthOutcome> {
    const [, scheme = '', accessToken = ''] = tokenScheme.exec(headers.authorization ?? '') ?? [];
    const dpop = scheme.toLowerCase() === 'dpop';
    const refuse = (reason: MockOAuthRejection, description: string) =>
      this.#refusal(reason, description, dpop || this.#options.dpopRequired);

    const verified = await this.#verifier.verify(accessToken);
    if (!verified.ok) return refuse(verified.reason, verified.description);
    const { token } = verified;
    if (this.#revoked.has(token.id)) return refuse('revoked', 'access token revoked');

    if (!dpop) {
      if (this.#options.dpopRequired) return refuse('dpop_required', 'DPoP is required');
      if (token.boundKey !== undefined) {
        return refuse('dpop_required', 'a DPoP-bound token needs its DPoP proof');
      }
    } else {
      const proof = headers.dpop;
      if (typeof proof !== 'string' || proof.includes(',')) {
        return refuse('dpop_proof', 'one DPoP proof header is required');
      }
      const now = this.#now();
      const checked = await verifyDpopProof(proof, {
        method,
        url,
        accessToken,
        boundKey: token.boundKey,
        now,
      });
      if (!checked.ok) return refuse(checked.reason, checked.description);
      if (this.#options.dpopNonce && checked.nonce !== this.#nonce) return this.#nonceChallenge();
      if (!this.#rememberProof(checked.jti, now)) return refuse('dpop_replay', 'proof replayed');
    }

    const missing = this.#options.requiredScope.filter((scope) => !token.scope.includes(scope));
    if (missing.length > 0) {
      return refuse('insufficient_scope', `access token lacks scope ${missing.join(' ')}`);
    }
    this.#seen.add(token.id);
    return { ok: true, token, dpop };
  }

  /** Refuses, from now on, every access token accepted so far. */
  revokeSeen(): void {
    for (const id of this.#seen) this.#revoked.add(id);
    this.#seen = new Set();
  }

  /** Makes a new DPoP nonce current; proofs with the previous one get a challenge. */
  rotateNonce(): string {
    this.#nonce = randomBytes(16).toString('base64url');
    return this.#nonce;
  }

  #refusal(reason: MockOAuthRejection, description: string, dpopScheme: boolean): OAuthOutcome {
    const error =
      reason === 'insufficient_scope'
        ? 'insufficient_scope'
        : reason.startsWith('dpop_') && reason !== 'dpop_required'
          ? 'invalid_dpop_proof'
          : 'invalid_token';
    const parameters = [`error="${error}"`, `error_description="${description}"`];
    if (reason === 'insufficient_scope') {
      parameters.push(`scope="${this.#options.requiredScope.join(' ')}"`);
    }
    if (dpopScheme) parameters.push(`algs="${dpopAlgorithms.join(' ')}"`);
    return {
      ok: false,
      reason,
      foreign: foreignReasons.has(reason),
      status: reason === 'insufficient_scope' ? 403 : 401,
      headers: { 'www-authenticate': `${dpopScheme ? 'DPoP' : 'Bearer'} ${parameters.join(', ')}` },
      body: { error, error_description: description },
    };
  }

  #nonceChallenge(): OAuthOutcome {
    const description = 'resource server requires its current DPoP nonce';
    return {
      ok: false,
      reason: 'use_dpop_nonce',
      foreign: false,
      status: 401,
      headers: {
        'www-authenticate': `DPoP error="use_dpop_nonce", error_description="${description}", algs="${dpopAlgorithms.join(' ')}"`,
        'dpop-nonce': this.#nonce,
      },
      body: { error: 'use_dpop_nonce', error_description: description },
    };
  }

  /** Records a proof's `jti`; false when it was seen within the window (a replay). */
  #rememberProof(jti: string, now: number): boolean {
    if (this.#proofs.size >= 10_000) {
      for (const [seen, until] of this.#proofs) if (until < now) this.#proofs.delete(seen);
    }
    const until = this.#proofs.get(jti);
    if (until !== undefined && until >= now) return false;
    this.#proofs.set(jti, now + 2 * dpopProofWindowSeconds * 1000);
    return true;
  }
}

import type { CallCredentials } from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';

/**
 * DPoP (RFC 9449) for one key pair: oauth4webapi's handle signs the proofs (`htm`, `htu`,
 * `ath`, the server's nonce) and keeps the nonces each origin sent. Shared by a client and
 * its `as()` clients (one key, one nonce per origin).
 */
export interface Dpop {
  /** The handle, for the token request. */
  handle(): Promise<oauth.DPoPHandle>;
  /** A call's credentials: `authorization: DPoP <token>` and a fresh `dpop` proof. */
  authorize(token: string, method: string, url: string): Promise<CallCredentials>;
  /**
   * `'retry'` for a `use_dpop_nonce` challenge carrying a nonce (kept for the next proofs),
   * `'reauth'` for anything else.
   */
  challenge(response: Response): 'reauth' | 'retry';
  /** Learns a new `DPoP-Nonce` from any answer (RFC 9449 §8.2: a success may carry the next). */
  observe(response: Response): void;
}

/** A DPoP key pair: the one given, or one made (ES256) at the first use. */
export function createDpop(keyPair: CryptoKeyPair | undefined): Dpop {
  let handle: Promise<oauth.DPoPHandle> | undefined;
  // A nonce learnt from a call's challenge, handed to the handle before the next proof.
  let learning: Promise<unknown> | undefined;
  let lastUrl: string | undefined;
  /** The last nonce handed to the handle: an answer repeating it teaches nothing. */
  let lastNonce: string | undefined;
  const handleOf = () =>
    (handle ??= (
      keyPair === undefined
        ? oauth.generateKeyPair('ES256', { extractable: false })
        : Promise.resolve(keyPair)
    ).then((pair) => oauth.DPoP({}, pair)));

  return {
    handle: handleOf,
    async authorize(token, method, url) {
      const dpop = await handleOf();
      if (learning !== undefined) await learning;
      lastUrl = url;
      let sent: Record<string, string> | undefined;
      // oauth4webapi builds the request a resource server expects (its public API); the
      // request itself goes through tokenfetch's pipeline, so it is caught here, not sent.
      await oauth.protectedResourceRequest(token, method, new URL(url), undefined, undefined, {
        DPoP: dpop,
        [oauth.allowInsecureRequests]: true,
        [oauth.customFetch]: (_url, init) => {
          sent = init.headers as Record<string, string>;
          return Promise.resolve(captured);
        },
      });
      return { authorization: sent!.authorization!, dpop: sent!.dpop! };
    },
    challenge(response) {
      const nonce = response.headers.get('dpop-nonce');
      if (response.status !== 401 || nonce === null || !isNonceChallenge(response)) {
        return 'reauth';
      }
      return learn(response, nonce) ? 'retry' : 'reauth';
    },
    observe(response) {
      const nonce = response.headers.get('dpop-nonce');
      if (nonce !== null && nonce !== lastNonce) learn(response, nonce);
    },
  };

  /** Hands `nonce`, from an answer of `response`'s origin, to the handle for the next proofs. */
  function learn(response: Response, nonce: string): boolean {
    const url = response.url !== '' ? response.url : lastUrl;
    if (url === undefined) return false;
    lastNonce = nonce;
    // The handle keeps nonces from the answers it sees: show it one with this nonce.
    const answer = new Response(null, { status: 204, headers: { 'dpop-nonce': nonce } });
    const learnt: Promise<unknown> = handleOf()
      .then((dpop) =>
        oauth.protectedResourceRequest('-', 'GET', new URL(url), undefined, undefined, {
          DPoP: dpop,
          [oauth.allowInsecureRequests]: true,
          [oauth.customFetch]: () => Promise.resolve(answer),
        }),
      )
      .catch(() => undefined)
      .finally(() => {
        if (learning === learnt) learning = undefined; // not a later one still under way
      });
    learning = learnt;
    return true;
  }
}

/** The answer of a captured request: nothing to learn from it. */
const captured = new Response(null, { status: 204 });

/** `WWW-Authenticate: DPoP error="use_dpop_nonce"` (RFC 9449 §9). */
function isNonceChallenge(response: Response): boolean {
  const header = response.headers.get('www-authenticate');
  return header !== null && /\bdpop\b[^]*\berror\s*=\s*"?use_dpop_nonce"?/i.test(header);
}

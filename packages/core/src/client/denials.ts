import type { Target } from '../transport/transport.js';

/**
 * Answers in `reauthStatuses` that are about the call, not the token: a replay with a new
 * token got the same status from the same method and URL (a permission 403: this user may
 * not do that). While the token is current, that answer to that call is handed back as it
 * is, without dropping the token: a forbidden call costs one login, not one each. A revoked
 * token is still replaced at the first such answer to any other call.
 */
export interface Denials {
  has(token: string, method: string, response: Response, target: Target): boolean;
  /** `token` got the answer that `dropped` got before it. */
  remember(
    token: string,
    dropped: string,
    method: string,
    response: Response,
    target: Target,
  ): void;
}

export function createDenials(): Denials {
  // What the current token has shown. Kept when the token was replaced to learn one more
  // (the old one was only dropped for that); any other new token starts afresh.
  let token: string | undefined;
  const seen = new Set<string>();
  const keyOf = (method: string, response: Response, target: Target) => {
    const url = response.url === '' ? target.href : response.url;
    const query = url.indexOf('?');
    return `${response.status} ${method} ${query === -1 ? url : url.slice(0, query)}`;
  };
  return {
    has: (sentWith, method, response, target) =>
      sentWith === token && seen.has(keyOf(method, response, target)),
    remember(sentWith, dropped, method, response, target) {
      if ((token !== sentWith && token !== dropped) || seen.size >= denialsSize) seen.clear();
      token = sentWith;
      seen.add(keyOf(method, response, target));
    },
  };
}

const denialsSize = 1_000;

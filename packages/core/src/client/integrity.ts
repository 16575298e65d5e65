/**
 * fetch's `integrity` (Subresource Integrity): an answer whose body does not match the
 * strongest of the given `sha256-` / `sha384-` / `sha512-` hashes rejects the call with
 * fetch's `TypeError('fetch failed')`. Only a call that gives `integrity` reads its answer
 * here (fetch reads it whole too); others pay nothing.
 */
import { withBody } from '../transport/transport.js';

const algorithms = new Map([
  ['sha256', { rank: 0, name: 'SHA-256' }],
  ['sha384', { rank: 1, name: 'SHA-384' }],
  ['sha512', { rank: 2, name: 'SHA-512' }],
]);

interface Metadata {
  alg: string;
  value: string;
}

/** The strongest of the valid hashes in `integrity` (none: nothing to check). */
function strongest(integrity: string): Metadata[] {
  let best: Metadata[] = [];
  let rank = -1;
  for (const item of integrity.split(' ')) {
    const expression = item.split('?', 1)[0]!;
    const alg = expression.slice(0, 6);
    const found = algorithms.get(alg);
    if (found === undefined || expression[6] !== '-') continue;
    const entry = { alg, value: expression.slice(7) };
    if (found.rank > rank) {
      rank = found.rank;
      best = [entry];
    } else if (found.rank === rank) {
      best.push(entry);
    }
  }
  return best;
}

/** `response` once its body matches `integrity`: a copy of it with the bytes read. */
export async function checkIntegrity(response: Response, integrity: string): Promise<Response> {
  const expected = strongest(integrity);
  if (expected.length === 0) return response;
  // A body that fails is fetch's error already (`terminated`, the abort reason).
  const bytes = await response.arrayBuffer();
  const digests = new Map<string, string>();
  for (const { alg, value } of expected) {
    let actual = digests.get(alg);
    if (actual === undefined) {
      const digest = await crypto.subtle.digest(algorithms.get(alg)!.name, bytes);
      actual = base64(new Uint8Array(digest));
      digests.set(alg, actual);
    }
    if (sameHash(actual, value)) return withBody(response, bytes);
  }
  throw new TypeError('fetch failed', { cause: new Error('integrity mismatch') });
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** fetch's comparison: padding aside, and base64url's `-` and `_` taken for `+` and `/`. */
function sameHash(actual: string, expected: string): boolean {
  const a = actual.replace(/={1,2}$/, '');
  const e = expected.replace(/={1,2}$/, '');
  if (a.length !== e.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === e[i] || (a[i] === '+' && e[i] === '-') || (a[i] === '/' && e[i] === '_')) {
      continue;
    }
    return false;
  }
  return true;
}

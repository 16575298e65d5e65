import { sha256Hex } from '#platform';
import { utf8Bytes } from '../shared/bytes.js';

/**
 * Names one set of credentials without its secret: a hash of base URL and identity (email
 * and org), the same on every instance and runtime. Events carry its first 16 digits as
 * `clientId`.
 */
export function credentialId(baseUrl: string, identity: string): string {
  return sha256Hex(`${baseUrl}|${identity}`);
}

/**
 * PBKDF2-SHA256 iterations of the secret binding: the most Cloudflare Workers allow, so that
 * every runtime of a mixed fleet derives the same keys. About 20–30 ms of CPU once per
 * secret and base URL in a process, off the per-call path.
 */
export const bindingIterations = 100_000;

/**
 * The key of one set of credentials in a token store, bound to its secret: a hash of base
 * URL, identity and a slow derivation (PBKDF2, salted with the base URL) of the secrets the
 * strategy holds. A client configured with someone's email and org but another password
 * gets another key: it can neither read their token nor plant a failure they honour, while
 * every client with the same secret shares one key. Someone who can read the store can test
 * a guessed password only at the derivation's pace, never at a bare hash's. A strategy that
 * names no secret is keyed by its identity alone.
 */
export async function storeKey(
  baseUrl: string,
  identity: string,
  secrets: readonly string[],
): Promise<string> {
  const binding = secrets.length === 0 ? '' : await secretBinding(baseUrl, secrets);
  return sha256Hex(`tokenfetch-v2|${baseUrl}|${identity}|${binding}`);
}

/**
 * Bindings derived in this process, by base URL and secrets, so that a client made again
 * (a pool's rebuilt tenant, another org of the same user) does not derive again. The
 * process holds those secrets anyway (its strategies do). Bounded: the least recently used
 * goes first.
 */
const bindings = new Map<string, Promise<string>>();
const maxBindings = 10_000;

function secretBinding(baseUrl: string, secrets: readonly string[]): Promise<string> {
  const cacheKey = JSON.stringify([baseUrl, secrets]);
  let binding = bindings.get(cacheKey);
  if (binding !== undefined) {
    bindings.delete(cacheKey);
  } else {
    binding = derive(baseUrl, secrets);
    if (bindings.size >= maxBindings) bindings.delete(bindings.keys().next().value!);
    // A failure is not kept: the next login derives again.
    binding.catch(() => bindings.delete(cacheKey));
  }
  bindings.set(cacheKey, binding);
  return binding;
}

async function derive(baseUrl: string, secrets: readonly string[]): Promise<string> {
  const { subtle } = globalThis.crypto;
  const material = await subtle.importKey(
    'raw',
    utf8Bytes(secrets.join('\u0000')),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await subtle.deriveBits(
    {
      name: 'PBKDF2',
      hash: 'SHA-256',
      salt: utf8Bytes(`tokenfetch-v2|${baseUrl}`),
      iterations: bindingIterations,
    },
    material,
    256,
  );
  return [...new Uint8Array(bits)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

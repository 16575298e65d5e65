import type * as oauth from 'oauth4webapi';
import { discoveredServer, givenServer } from './authorization-server.js';
import { clientAuthFor, isCryptoKey } from './client-auth.js';
import { createDpop } from './dpop.js';
import type { OAuthFamily } from './oauth-strategy.js';
import type { CheckedClient } from './options.js';

let processKeys = 0;
const keyIds = new WeakMap<object, string>();

/** A name for `key` in this process only (its tokens are not shared with other processes). */
function processKeyTag(key: object): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = `process-key-${++processKeys}-${crypto.randomUUID()}`;
    keyIds.set(key, id);
  }
  return id;
}

/** The family of strategies of one set of checked options. */
export function createFamily(
  checked: CheckedClient,
  revocationUrl?: string,
): { family: OAuthFamily; keySecrets: readonly string[] } {
  const server =
    checked.tokenUrl !== undefined
      ? givenServer(checked.tokenUrl, revocationUrl)
      : discoveredServer(checked.issuer!);
  const dpopKey = checked.dpop === 'generate' ? undefined : checked.dpop;
  const dpop = checked.dpop === undefined ? undefined : createDpop(dpopKey);
  // What binds a stored token to its holder besides the client secret: a JWK's private part
  // (the same in every process); a CryptoKey or a DPoP key, which cannot be read at once,
  // stays in this process, and so do its tokens.
  const keySecrets: string[] = [];
  const tags: string[] = [];
  const { privateKey } = checked;
  if (checked.clientAuth === 'private_key_jwt' && privateKey !== undefined) {
    if (isCryptoKey(privateKey) || 'key' in privateKey) tags.push(processKeyTag(privateKey));
    else if (typeof privateKey.d === 'string') keySecrets.push(privateKey.d);
  }
  if (checked.dpop !== undefined) tags.push(`dpop:${processKeyTag(dpop!)}`);
  const family: OAuthFamily = {
    server,
    client: { client_id: checked.clientId } satisfies oauth.Client,
    clientAuth: clientAuthFor(checked.clientAuth, checked.clientSecret, checked.privateKey),
    dpop,
    keyTag: tags.join('|'),
    ttlMs: checked.ttlMs,
    describe: {
      kind: 'session',
      oauth2: true,
      clientId: checked.clientId,
      ...(checked.tokenUrl === undefined
        ? { issuer: checked.issuer }
        : { tokenUrl: checked.tokenUrl }),
      clientAuth: checked.clientAuth,
      dpop: checked.dpop !== undefined,
    },
  };
  return { family, keySecrets };
}

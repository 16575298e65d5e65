// The tenant-safe store keys (core's engine/store-key.ts: a hash of base URL and identity,
// bound to the password by PBKDF2) of fixed credentials, as the runtime that runs this
// derives them: the matrix compares every runtime's with Node's, since a mixed fleet shares
// one token only if every runtime names it alike. Each key is read off a store that answers
// the client's first read with a token, so nothing is sent anywhere.
import { createApiClient, type StoredToken, type TokenStore } from '@tokenfetch/core';

/** Credentials whose keys are compared: ASCII, and a password and email beyond ASCII. */
const credentials = [
  {
    baseUrl: 'https://acme.resolver.com/api',
    auth: { email: 'svc@acme.com', password: 'correct horse battery staple', orgId: 42 },
  },
  {
    baseUrl: 'https://tenant-ü.example.com/api/v2',
    auth: { email: 'zoë@example.com', password: 'pässwörd-🔑-密码', orgId: '7' },
  },
];

/** The store key of each set of credentials above, in order. */
export async function storeKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (const options of credentials) {
    let seen: string | undefined;
    const store = recordingStore((key) => (seen = key));
    const client = createApiClient({ ...options, store });
    try {
      await client.getToken();
    } finally {
      await client.close();
    }
    if (seen === undefined) throw new Error('the client never read its store');
    keys.push(seen);
  }
  return keys;
}

/** A store whose every read answers a fresh token, after telling `record` the key. */
function recordingStore(record: (key: string) => void): TokenStore {
  const token = (): StoredToken => {
    const now = Date.now();
    return { token: 'stored', issuedAt: now, expiresAt: now + 600_000, generation: 1 };
  };
  return {
    get: (key) => {
      record(key);
      return Promise.resolve(token());
    },
    acquire: () => Promise.resolve(undefined),
    commit: () => Promise.resolve(false),
    release: () => Promise.resolve(),
    invalidate: () => Promise.resolve(),
    getFailure: () => Promise.resolve(undefined),
  };
}

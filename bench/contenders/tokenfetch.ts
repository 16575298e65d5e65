import { createApiClient, type ApiClient } from '@tokenfetch/core';
import type { Contender, Credentials } from './contender.js';

/** The client every tokenfetch contender uses: defaults, shorthand credentials. */
export function createClient(baseUrl: string, credentials: Credentials): ApiClient {
  return createApiClient({ baseUrl, auth: credentials });
}

/** tokenfetch's `createApiClient` with its defaults. */
export const tokenfetch: Contender = {
  name: 'tokenfetch',
  create(baseUrl, credentials) {
    const client = createClient(baseUrl, credentials);
    return Promise.resolve({
      async fetch(path) {
        const response = await client.fetch(path);
        return { status: response.status, body: await response.text() };
      },
      close: () => client.close(),
    });
  },
};

import { login } from '../lib/login.js';
import type { Contender } from './contender.js';

/**
 * The cache-with-expiry-check most apps contain: log in when there is no token or it has
 * expired (by the announced `expiresIn`, else 15 minutes), retry once on 401/403. Every
 * caller that finds no token logs in itself: no single-flight.
 */
export const handWritten: Contender = {
  name: 'hand-written',
  create(baseUrl, credentials) {
    let cached: { token: string; expiresAt: number } | undefined;

    async function getToken(): Promise<string> {
      if (cached !== undefined && Date.now() < cached.expiresAt) return cached.token;
      const { token, expiresInMs } = await login(baseUrl, credentials);
      cached = { token, expiresAt: Date.now() + (expiresInMs ?? 15 * 60_000) };
      return token;
    }

    async function call(path: string, token: string) {
      return fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    }

    return Promise.resolve({
      async fetch(path) {
        let response = await call(path, await getToken());
        if (response.status === 401 || response.status === 403) {
          await response.body?.cancel();
          cached = undefined;
          response = await call(path, await getToken());
        }
        return { status: response.status, body: await response.text() };
      },
      close: () => Promise.resolve(),
    });
  },
};

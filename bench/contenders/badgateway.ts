import { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';
import { login } from '../lib/login.js';
import type { Contender } from './contender.js';

/**
 * `@badgateway/oauth2-client`'s `OAuth2Fetch`, whose `getNewToken` makes the same login.
 * Everything else is the library's default: it re-authenticates on 401 only, and treats a
 * token as good until its `expiresAt` (the announced `expiresIn`, else never).
 */
export const badgateway: Contender = {
  name: 'badgateway',
  create(baseUrl, credentials) {
    const wrapper = new OAuth2Fetch({
      // Only used for refresh tokens, which this login never returns.
      client: new OAuth2Client({ server: baseUrl, clientId: 'tokenfetch-bench' }),
      async getNewToken() {
        const { token, expiresInMs } = await login(baseUrl, credentials);
        return {
          accessToken: token,
          refreshToken: null,
          expiresAt: expiresInMs === undefined ? null : Date.now() + expiresInMs,
        };
      },
    });
    return Promise.resolve({
      async fetch(path) {
        const response = await wrapper.fetch(`${baseUrl}${path}`);
        return { status: response.status, body: await response.text() };
      },
      close: () => Promise.resolve(),
    });
  },
};

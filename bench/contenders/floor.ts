import { login } from '../lib/login.js';
import type { Contender } from './contender.js';

/** The floor: `fetch` with a constant header holding a token obtained before the first call. */
export const floor: Contender = {
  name: 'floor',
  async create(baseUrl, credentials) {
    const { token } = await login(baseUrl, credentials);
    const headers = { authorization: `Bearer ${token}` };
    return {
      async fetch(path) {
        const response = await fetch(`${baseUrl}${path}`, { headers });
        return { status: response.status, body: await response.text() };
      },
      close: () => Promise.resolve(),
    };
  },
};

import { Readable } from 'node:stream';
import { Agent } from 'undici';
import { login } from '../lib/login.js';
import type { Contender } from './contender.js';

/**
 * The limit of a fetch-compatible path: undici's `Agent.request()` with a constant token,
 * the answer wrapped in a global `Response` (`Readable.toWeb(body)`, status, headers), as a
 * caller of `fetch` would receive it. No URL checks, no redirects, no decoding: what is
 * left when everything a client does on top of sending is removed.
 */
export const undiciLimit: Contender = {
  name: 'undici-limit',
  async create(baseUrl, credentials) {
    const { token } = await login(baseUrl, credentials);
    const base = new URL(baseUrl);
    const agent = new Agent();
    const headers = { authorization: `Bearer ${token}` };
    return {
      async fetch(path) {
        const {
          statusCode,
          headers: raw,
          body,
        } = await agent.request({
          origin: base.origin,
          path: `${base.pathname}${path}`,
          method: 'GET',
          headers,
        });
        const response = new Response(Readable.toWeb(body) as ReadableStream, {
          status: statusCode,
          headers: raw as Record<string, string>,
        });
        return { status: response.status, body: await response.text() };
      },
      close: () => agent.close(),
    };
  },
};

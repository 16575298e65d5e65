// Issue 21.4 with an OAuth client (found by the attack on issue 24): a token endpoint that
// refuses the scope (invalid_scope, unauthorized_client) makes the login a ConfigError. The
// app's callers get 500 problem+json, and the app's log gets one line per cooldown window
// through the `logger` option, as for a wrong password; it went unlogged before.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authMiddleware, problemDetails } from '@tokenfetch/express';
import { clientCredentials } from '@tokenfetch/oauth2';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('an OAuth scope refused at login, in Express', () => {
  it('is written to the logger once', async () => {
    const authServer = await listen(
      createServer((_req, res) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_scope' }));
      }),
    );
    const lines: string[] = [];
    const app = express();
    app.use(
      authMiddleware({
        baseUrl: 'https://api.example.com',
        auth: clientCredentials({
          tokenUrl: `${authServer}/token`,
          clientId: 'c',
          clientSecret: 'cs-9f8e7d',
          scope: 'typo:read',
        }),
        logger: { error: (line: string) => lines.push(line) },
      }),
    );
    app.get('/me', (req, res, next) => {
      req.apiFetch('/me').then((r) => res.sendStatus(r.status), next);
    });
    app.use(problemDetails());
    const origin = await listen(createServer(app));
    const answers = [await fetch(`${origin}/me`), await fetch(`${origin}/me`)];
    expect(answers.map((answer) => answer.status)).toEqual([500, 500]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tokenfetch: E_CONFIG: /);
    expect(lines[0]).not.toContain('cs-9f8e7d');
  });
});

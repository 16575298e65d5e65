import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { demoApiKey, demoUser, startMockUpstream } from '../src/index.js';
import { bearer, credentials, login, start, token, waitFor } from './helpers.js';

describe('startMockUpstream', () => {
  it('listens on an ephemeral loopback port and reports baseUrl and origin', async () => {
    const mock = await start();
    expect(mock.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(mock.baseUrl).toBe(`${mock.origin}/api`);
  });

  it('honours a custom prefix, and paths outside it answer an HTML 404 page', async () => {
    const mock = await start({ prefix: '/v2/' });
    expect(mock.baseUrl).toBe(`${mock.origin}/v2`);
    expect((await login(mock)).status).toBe(200);
    const outside = await fetch(`${mock.origin}/api/anything<x>`, {
      method: 'POST',
      headers: { 'x-api-key': demoApiKey },
    });
    expect(outside.status).toBe(404);
    expect(outside.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await outside.text()).toContain('<pre>Cannot POST /api/anything%3Cx%3E</pre>');
  });

  it('serves at the root with prefix "/"', async () => {
    const mock = await start({ prefix: '/' });
    expect(mock.baseUrl).toBe(mock.origin);
    const res = await fetch(`${mock.origin}/user/authenticate`, {
      method: 'POST',
      body: JSON.stringify(credentials),
    });
    expect(res.status).toBe(200);
  });

  it('rejects invalid options before listening', async () => {
    await expect(startMockUpstream({ port: 70_000 })).rejects.toThrow(RangeError);
    await expect(startMockUpstream({ tokenTtlMs: 0 })).rejects.toThrow(RangeError);
  });

  it('close() ends even with an open keep-alive connection and a hanging login, at once', async () => {
    const mock = await startMockUpstream();
    const first = await login(mock);
    expect(first.status).toBe(200);
    await first.text(); // its connection stays open, idle, for the next request
    mock.setLoginResponse(() => 'hang');
    const pending = login(mock).catch((error: unknown) => error);
    await waitFor(() => mock.stats.inFlightLogins === 1);

    // Not the test's timeout: a close() that waits for its connections fails here.
    const closed = await Promise.race([
      mock.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 2 s'), 2_000)),
    ]);

    expect(closed).toBe('closed');
    expect(await pending).toBeInstanceOf(Error);
    await mock.close(); // idempotent
  });
});

describe('login', () => {
  it('answers 200 with a base64url token of 32 bytes, and no expiresIn by default', async () => {
    const mock = await start();
    const res = await login(mock);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['token']);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('issues a different token on every login', async () => {
    const mock = await start();
    expect(await token(mock)).not.toBe(await token(mock));
  });

  it('accepts selectedOrg as a string', async () => {
    const mock = await start();
    expect((await login(mock, { ...credentials, selectedOrg: '1' })).status).toBe(200);
  });

  it('announces expiresIn in seconds when announceTtl is set', async () => {
    const mock = await start({ announceTtl: true, tokenTtlMs: 60_000 });
    const body = (await (await login(mock)).json()) as Record<string, unknown>;
    expect(body.expiresIn).toBe(60);
  });

  it.each([
    ['not JSON', 'email=demo'],
    ['not an object', '[1,2]'],
    ['null', 'null'],
    ['missing email', JSON.stringify({ password: 'x', selectedOrg: 1 })],
    ['numeric password', JSON.stringify({ email: 'a', password: 1, selectedOrg: 1 })],
    ['missing selectedOrg', JSON.stringify({ email: 'a', password: 'b' })],
    ['boolean selectedOrg', JSON.stringify({ email: 'a', password: 'b', selectedOrg: true })],
  ])('answers 400 to a malformed body (%s)', async (_name, body) => {
    const mock = await start();
    const res = await login(mock, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toHaveProperty('error');
  });

  it('answers 401 to a wrong password or an unknown email', async () => {
    const mock = await start();
    expect((await login(mock, { ...credentials, password: 'nope' })).status).toBe(401);
    expect((await login(mock, { ...credentials, email: 'x@example.com' })).status).toBe(401);
  });

  it('answers 404 when the user has no org or selectedOrg is not one of them', async () => {
    const mock = await start({
      users: [demoUser, { email: 'lonely@example.com', password: 'pw', orgs: [] }],
    });
    expect((await login(mock, { ...credentials, selectedOrg: 2 })).status).toBe(404);
    const lonely = { email: 'lonely@example.com', password: 'pw', selectedOrg: 1 };
    expect((await login(mock, lonely)).status).toBe(404);
  });

  it('answers 405 to a GET of the login path and still counts it as an attempt', async () => {
    const mock = await start();
    const res = await fetch(`${mock.baseUrl}/user/authenticate`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(mock.stats).toMatchObject({ loginAttempts: 1, successfulLogins: 0, calls: 0 });
  });
});

describe('authenticated calls', () => {
  it('refuses a call without credentials with 403 and a JSON error', async () => {
    const mock = await start();
    const res = await fetch(`${mock.baseUrl}/data/object/1`);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });

  it('refuses an unknown token, a malformed Authorization and an unknown API key', async () => {
    const mock = await start();
    const url = `${mock.baseUrl}/data`;
    expect((await fetch(url, { headers: bearer('made-up') })).status).toBe(403);
    expect((await fetch(url, { headers: { authorization: 'Basic abc' } })).status).toBe(403);
    expect((await fetch(url, { headers: { 'x-api-key': 'wrong' } })).status).toBe(403);
  });

  it('accepts a bearer token and answers /user/users/me with the logged-in user', async () => {
    const mock = await start();
    const res = await fetch(`${mock.baseUrl}/user/users/me`, {
      headers: bearer(await token(mock)),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: 1,
      email: 'demo@example.com',
      firstName: 'Demo',
      lastName: 'User',
      currentOrg: { id: 1 },
    });
  });

  it('reports the org chosen at login as currentOrg', async () => {
    const mock = await start({ users: [{ email: 'a@b.c', password: 'p', orgs: [7, 'org-8'] }] });
    const res = await login(mock, { email: 'a@b.c', password: 'p', selectedOrg: 'org-8' });
    const { token: value } = (await res.json()) as { token: string };
    const me = await fetch(`${mock.baseUrl}/user/users/me`, { headers: bearer(value) });
    expect(await me.json()).toMatchObject({ id: 1, firstName: 'a', currentOrg: { id: 'org-8' } });
  });

  it('accepts an API key as a synthetic service user, and honours impersonate-user-id', async () => {
    const mock = await start({
      users: [demoUser, { email: 'b@example.com', password: 'p', orgs: [1], id: 42 }],
      apiKeys: [{ key: 'k-1', orgId: 9, userId: 1000 }],
    });
    const url = `${mock.baseUrl}/user/users/me`;
    const service = await fetch(url, { headers: { 'x-api-key': 'k-1' } });
    expect(service.status).toBe(200);
    expect(await service.json()).toMatchObject({ id: 1000, currentOrg: { id: 9 } });
    const acting = await fetch(url, {
      headers: { 'x-api-key': 'k-1', 'impersonate-user-id': '42' },
    });
    expect(await acting.json()).toMatchObject({
      id: 42,
      email: 'b@example.com',
      currentOrg: { id: 9 },
    });
    const unknown = await fetch(url, {
      headers: { 'x-api-key': 'k-1', 'impersonate-user-id': '5' },
    });
    expect(await unknown.json()).toMatchObject({ id: 1000 });
    expect((await fetch(url, { headers: { 'x-api-key': demoApiKey } })).status).toBe(403);
  });

  it('accepts the demo API key by default', async () => {
    const mock = await start();
    const res = await fetch(`${mock.baseUrl}/anything`, { headers: { 'x-api-key': demoApiKey } });
    expect(res.status).toBe(200);
  });

  it('revokeTokens() invalidates every token issued so far, but not later ones', async () => {
    const mock = await start();
    const first = await token(mock);
    const second = await token(mock);
    mock.revokeTokens();
    const url = `${mock.baseUrl}/data`;
    expect((await fetch(url, { headers: bearer(first) })).status).toBe(403);
    expect((await fetch(url, { headers: bearer(second) })).status).toBe(403);
    expect((await fetch(url, { headers: bearer(await token(mock)) })).status).toBe(200);
  });

  it('expires a token tokenTtlMs after its issue, by the injected clock', async () => {
    let now = 1_000_000;
    const mock = await start({ now: () => now, tokenTtlMs: 60_000 });
    const value = await token(mock);
    const url = `${mock.baseUrl}/data`;
    now += 59_999;
    expect((await fetch(url, { headers: bearer(value) })).status).toBe(200);
    now += 1;
    expect((await fetch(url, { headers: bearer(value) })).status).toBe(403);
    now -= 10; // an expired token stays expired
    expect((await fetch(url, { headers: bearer(value) })).status).toBe(403);
  });
});

describe('routes', () => {
  it('echoes method, path, query, redacted credential headers and a JSON body', async () => {
    const mock = await start();
    const value = await token(mock);
    const res = await fetch(`${mock.baseUrl}/data/object/1?a=1&a=2&b=x`, {
      method: 'PUT',
      headers: { ...bearer(value), 'content-type': 'application/json', 'x-custom': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Record<string, unknown>;
    expect(echo).toMatchObject({
      method: 'PUT',
      path: '/api/data/object/1',
      query: { a: ['1', '2'], b: 'x' },
      headers: { authorization: 'present', 'x-custom': 'yes' },
      body: { hello: 'world' },
    });
    expect(JSON.stringify(echo)).not.toContain(value);
  });

  it('echoes a non-JSON body as raw text, a multipart body included, and redacts x-api-key', async () => {
    const mock = await start();
    const form = new FormData();
    form.append('field', 'value');
    const res = await fetch(`${mock.baseUrl}/upload`, {
      method: 'POST',
      headers: { 'x-api-key': demoApiKey },
      body: form,
    });
    const echo = (await res.json()) as { body: string; headers: Record<string, string> };
    expect(echo.headers['x-api-key']).toBe('present');
    expect(echo.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(echo.body).toContain('name="field"');
    expect(echo.body).toContain('value');
    const text = await fetch(`${mock.baseUrl}/t`, {
      method: 'POST',
      headers: { 'x-api-key': demoApiKey, 'content-type': 'text/plain' },
      body: '{"not":"parsed"}',
    });
    expect(((await text.json()) as { body: unknown }).body).toBe('{"not":"parsed"}');
  });

  it('answers /redirect with the requested status and Location', async () => {
    const mock = await start();
    const res = await fetch(
      `${mock.baseUrl}/redirect?to=${encodeURIComponent('https://elsewhere.example/x')}&status=307`,
      { headers: { 'x-api-key': demoApiKey }, redirect: 'manual' },
    );
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('https://elsewhere.example/x');
    const fallback = await fetch(`${mock.baseUrl}/redirect?to=/api/echo`, {
      headers: { 'x-api-key': demoApiKey },
      redirect: 'manual',
    });
    expect(fallback.status).toBe(302);
  });

  it('requires authentication for /redirect and rejects bad parameters with 400', async () => {
    const mock = await start();
    const url = `${mock.baseUrl}/redirect?to=/x`;
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(403);
    const key = { 'x-api-key': demoApiKey };
    expect((await fetch(`${mock.baseUrl}/redirect`, { headers: key })).status).toBe(400);
    expect((await fetch(`${url}&status=200`, { headers: key })).status).toBe(400);
  });

  it('answers /status/<code> with that status and a JSON body, after authentication', async () => {
    const mock = await start();
    const key = { 'x-api-key': demoApiKey };
    const res = await fetch(`${mock.baseUrl}/status/503`, { headers: key });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 503, message: 'Service Unavailable' });
    const empty = await fetch(`${mock.baseUrl}/status/204`, { headers: key });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    expect((await fetch(`${mock.baseUrl}/status/404`)).status).toBe(403);
  });

  it('answers 413 to a body over 1 MiB, and stays usable', async () => {
    const mock = await start();
    const headers = { 'x-api-key': demoApiKey, 'content-type': 'text/plain' };
    const big = await fetch(`${mock.baseUrl}/upload`, {
      method: 'POST',
      headers,
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(big.status).toBe(413);
    const fits = await fetch(`${mock.baseUrl}/upload`, {
      method: 'POST',
      headers,
      body: 'x'.repeat(1024 * 1024),
    });
    expect(fits.status).toBe(200);
    const loginTooBig = await login(mock, 'x'.repeat(2 * 1024 * 1024));
    expect(loginTooBig.status).toBe(413);
  });

  it('survives a client that aborts mid-body and a malformed request target', async () => {
    const mock = await start();
    const { port } = new URL(mock.origin);
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/api/upload',
        headers: { 'content-length': '1000', 'x-api-key': demoApiKey },
      });
      req.on('error', () => resolve());
      req.write('partial', () => {
        req.destroy();
        resolve();
      });
    });
    const odd = await rawStatus(port, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(odd).toBe(400);
    expect((await login(mock)).status).toBe(200);
  });
});

describe('login test hooks', () => {
  it('failNextLogins(status, count, headers) fails exactly that many logins, then recovers', async () => {
    const mock = await start();
    mock.failNextLogins(500, 2);
    mock.failNextLogins(429, 1, { 'Retry-After': '3' });
    const first = await login(mock);
    expect(first.status).toBe(500);
    expect(await first.json()).toEqual({ error: 'Internal Server Error' });
    expect((await login(mock)).status).toBe(500);
    const limited = await login(mock);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await login(mock)).status).toBe(200);
    expect(mock.stats).toMatchObject({ loginAttempts: 4, successfulLogins: 1 });
  });

  it('failNextLogins defaults to one failure and rejects nonsense', async () => {
    const mock = await start();
    mock.failNextLogins(503);
    expect((await login(mock)).status).toBe(503);
    expect((await login(mock)).status).toBe(200);
    expect(() => mock.failNextLogins(42)).toThrow(RangeError);
    expect(() => mock.failNextLogins(500, -1)).toThrow(RangeError);
  });

  it('setLoginDelay delays answers and maxConcurrentLogins counts overlapping logins', async () => {
    const mock = await start();
    mock.setLoginDelay(150);
    const startedAt = performance.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => login(mock)));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    expect(mock.stats).toMatchObject({
      loginAttempts: 5,
      successfulLogins: 5,
      inFlightLogins: 0,
      maxConcurrentLogins: 5,
    });
    mock.setLoginDelay(0);
    await login(mock);
    expect(mock.stats.maxConcurrentLogins).toBe(5);
  });

  it('setLoginResponse can answer a custom status, headers and body', async () => {
    const mock = await start();
    mock.setLoginResponse(() => ({
      status: 200,
      body: '<html>oops</html>',
      headers: { 'content-type': 'text/html' },
    }));
    const res = await login(mock);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toBe('<html>oops</html>');
    expect(mock.stats.successfulLogins).toBe(0);
  });

  it('setLoginResponse can wrap a real token in another shape; undefined falls through', async () => {
    const mock = await start();
    const seen: string[] = [];
    mock.setLoginResponse((req) => {
      seen.push(req.body);
      if (seen.length > 1) return undefined;
      return { body: JSON.stringify({ data: { accessToken: req.issueToken({ ttlMs: 1000 }) } }) };
    });
    const wrapped = (await (await login(mock)).json()) as { data: { accessToken: string } };
    const me = await fetch(`${mock.baseUrl}/user/users/me`, {
      headers: bearer(wrapped.data.accessToken),
    });
    expect(me.status).toBe(200);
    expect(await token(mock)).toMatch(/^[\w-]{43}$/);
    expect(JSON.parse(seen[0] ?? '')).toEqual(credentials);
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it("setLoginResponse 'reset' destroys the socket, 'hang' never answers", async () => {
    const mock = await start();
    mock.setLoginResponse(() => 'reset');
    await expect(login(mock)).rejects.toThrow();
    mock.setLoginResponse(() => 'hang');
    const aborted = await fetch(`${mock.baseUrl}/user/authenticate`, {
      method: 'POST',
      body: JSON.stringify(credentials),
      signal: AbortSignal.timeout(200),
    }).catch((error: unknown) => error);
    expect((aborted as Error).name).toBe('TimeoutError');
    await waitFor(() => mock.stats.inFlightLogins === 0);
    mock.setLoginResponse(undefined);
    expect((await login(mock)).status).toBe(200);
  });

  it('a throwing hook answers 500 instead of crashing the server', async () => {
    const mock = await start();
    mock.setLoginResponse(() => {
      throw new Error('boom');
    });
    expect((await login(mock)).status).toBe(500);
  });
});

describe('stats and requests', () => {
  it('counts calls and rejected calls, and resetStats() zeroes them', async () => {
    const mock = await start();
    const value = await token(mock);
    await fetch(`${mock.baseUrl}/a`, { headers: bearer(value) });
    await fetch(`${mock.baseUrl}/b`);
    await fetch(`${mock.origin}/outside`);
    expect(mock.stats).toEqual({
      loginAttempts: 1,
      successfulLogins: 1,
      calls: 3,
      rejectedCalls: 1,
      unknownCredentialCalls: 0,
      inFlightLogins: 0,
      maxConcurrentLogins: 1,
      oauthCalls: 0,
      dpopCalls: 0,
      oauthRejections: {},
      dpopNonceChallenges: 0,
    });
    const snapshot = mock.stats;
    mock.resetStats();
    expect(snapshot.calls).toBe(3);
    expect(mock.stats).toEqual({
      loginAttempts: 0,
      successfulLogins: 0,
      calls: 0,
      rejectedCalls: 0,
      unknownCredentialCalls: 0,
      inFlightLogins: 0,
      maxConcurrentLogins: 0,
      oauthCalls: 0,
      dpopCalls: 0,
      oauthRejections: {},
      dpopNonceChallenges: 0,
    });
    expect(mock.requests).toEqual([]);
  });

  it('resetStats() keeps the gauge of logins still in flight, which ends at 0, not below', async () => {
    const mock = await start();
    mock.setLoginDelay(200);
    const pending = login(mock);
    await waitFor(() => mock.stats.inFlightLogins === 1);
    mock.resetStats();
    expect(mock.stats).toMatchObject({
      loginAttempts: 0,
      inFlightLogins: 1,
      maxConcurrentLogins: 1,
    });
    expect((await pending).status).toBe(200);
    await waitFor(() => mock.stats.inFlightLogins !== 1);
    expect(mock.stats).toMatchObject({ successfulLogins: 1, inFlightLogins: 0 });
  });

  it('records non-login requests with their real headers and body', async () => {
    const mock = await start();
    const value = await token(mock);
    await fetch(`${mock.baseUrl}/data?x=1`, {
      method: 'POST',
      headers: { ...bearer(value), 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(mock.requests).toEqual([
      {
        method: 'POST',
        path: '/api/data?x=1',
        headers: expect.objectContaining({ authorization: `Bearer ${value}` }),
        body: 'payload',
        impersonateUserId: undefined,
        actingAs: { credential: 'token', userId: 1, orgId: 1 },
      },
    ]);
  });

  it('keeps only the last 1000 requests', async () => {
    const mock = await start();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 101 }, (_, i) => fetch(`${mock.baseUrl}/n/${batch * 101 + i}`)),
      );
    }
    await fetch(`${mock.baseUrl}/last`);
    const { requests } = mock;
    expect(requests).toHaveLength(1000);
    expect(requests.at(-1)?.path).toBe('/api/last');
    expect(mock.stats.calls).toBe(1011);
  });
});

/** Sends a raw HTTP/1.1 request and resolves with the status code of the answer. */
async function rawStatus(port: string, raw: string): Promise<number> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(raw));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1])));
    socket.on('error', reject);
  });
}

import { describe, expect, it } from 'vitest';
import { DEMO_API_KEY } from '@tokenfetch/mock-upstream';
import type { ApiClient, ApiClientOptions } from '../src/index.js';
import { bearerOf, clientFor, startMock, startRecorder } from './helpers.js';

const statuses = [301, 302, 303, 307, 308] as const;

/** `/redirect?to=…&status=…` on the mock, as a path under the base URL. */
const redirect = (to: string, status = 302) =>
  `/redirect?to=${encodeURIComponent(to)}&status=${status}`;

/** A chain of `hops` redirects under the base path that ends at /api/end. */
function chain(hops: number): string {
  let path = '/api/end';
  for (let i = 0; i < hops; i++) path = `/api${redirect(path)}`;
  return path.slice('/api'.length);
}

describe('redirects (guarantee 8)', () => {
  for (const status of statuses) {
    it(`a same-origin ${status} inside the base path is followed with credentials`, async () => {
      const mock = await startMock();
      const client = clientFor(mock);
      const token = await client.getToken();

      const response = await client.fetch(redirect('/api/target?x=1', status));

      expect(response.status).toBe(200);
      const echo = (await response.json()) as { path: string; query: unknown };
      expect(echo).toMatchObject({ path: '/api/target', query: { x: '1' } });
      const target = mock.requests.find((request) => request.path === '/api/target?x=1');
      expect(bearerOf(target?.headers ?? {})).toBe(token);
    });
  }

  it('a relative Location resolves against the redirecting URL', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const response = await client.fetch(redirect('next/step'));

    expect(response.status).toBe(200);
    expect(mock.requests.at(-1)?.path).toBe('/api/next/step');
  });

  it('at most 5 redirects are followed; the 6th 3xx goes back to the caller', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const five = await client.fetch(chain(5));
    expect(five.status).toBe(200);
    expect(mock.requests.at(-1)?.path).toBe('/api/end');

    mock.resetStats();
    const six = await client.fetch(chain(6));
    expect(six.status).toBe(302);
    expect(mock.requests).toHaveLength(6);
    expect(mock.requests.some((request) => request.path === '/api/end')).toBe(false);
  });

  for (const [status, method] of [
    [303, 'POST'],
    [303, 'PUT'],
    [301, 'POST'],
    [302, 'POST'],
  ] as const) {
    it(`a ${status} turns ${method} into a GET without body`, async () => {
      const mock = await startMock();
      const client = clientFor(mock);

      const response = await client.fetch(redirect('/api/result', status), {
        method,
        headers: { 'content-type': 'application/json' },
        body: '{"secret":"order"}',
      });

      expect(response.status).toBe(200);
      const target = mock.requests.at(-1);
      expect(target).toMatchObject({ method: 'GET', path: '/api/result', body: '' });
      expect(target?.headers['content-type']).toBeUndefined();
      expect(target?.headers['content-length']).toBeUndefined();
    });
  }

  it('a 303 keeps a HEAD a HEAD', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const response = await client.fetch(redirect('/api/result', 303), { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(mock.requests.at(-1)).toMatchObject({ method: 'HEAD', path: '/api/result' });
  });

  for (const status of [307, 308] as const) {
    it(`a ${status} keeps the method and re-sends the body`, async () => {
      const mock = await startMock();
      const client = clientFor(mock);

      const response = await client.fetch(redirect('/api/result', status), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n":1}',
      });

      expect(response.status).toBe(200);
      expect(mock.requests.at(-1)).toMatchObject({
        method: 'POST',
        path: '/api/result',
        body: '{"n":1}',
      });
    });
  }

  it('a 307 with a stream body is not followed: the 3xx goes back', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    mock.resetStats();

    const response = await client.fetch(redirect('/api/result', 307), {
      method: 'POST',
      body: new Blob(['streamed']).stream(),
      duplex: 'half',
    } as RequestInit);

    expect(response.status).toBe(307);
    expect(mock.requests).toHaveLength(1);
  });

  it("redirect: 'manual' returns the 3xx; redirect: 'error' rejects", async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const manual = await client.fetch(redirect('/api/result'), { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe('/api/result');

    await expect(client.fetch(redirect('/api/result'), { redirect: 'error' })).rejects.toThrow(
      TypeError,
    );
    expect(mock.requests.some((request) => request.path === '/api/result')).toBe(false);
  });

  it('a 3xx without a Location, or with one that is not a URL, goes back to the caller', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    expect((await client.fetch('/status/302')).status).toBe(302);
    const bad = await client.fetch(redirect('http://[not-a-host/x', 307));
    expect(bad.status).toBe(307);
    expect(bad.headers.get('location')).toBe('http://[not-a-host/x');
  });

  /** Each kind of credential, and the credential headers a call of its client carries. */
  const authKinds: Array<{
    kind: string;
    options: Partial<ApiClientOptions>;
    credentials: (client: ApiClient) => Promise<Record<string, string | undefined>>;
  }> = [
    {
      kind: 'session token',
      options: {},
      credentials: async (client) => ({
        authorization: `Bearer ${await client.getToken()}`,
        'x-api-key': undefined,
      }),
    },
    {
      kind: 'API key',
      options: { auth: { apiKey: DEMO_API_KEY } },
      credentials: () => Promise.resolve({ authorization: undefined, 'x-api-key': DEMO_API_KEY }),
    },
  ];

  for (const { kind, options, credentials } of authKinds) {
    for (const status of statuses) {
      it(`${kind}: a ${status} to another origin is returned and the other origin receives nothing`, async () => {
        const mock = await startMock();
        const other = await startRecorder();
        const client = clientFor(mock, options);
        const to = `${other.origin}/api/steal`;

        const response = await client.fetch(redirect(to, status), {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: 'private body',
        });

        expect(response.status).toBe(status);
        expect(response.headers.get('location')).toBe(to);
        expect(other.connections).toBe(0);
        expect(other.requests).toEqual([]);
        // The base URL did get the body, with this client's credential and no other.
        const sent = mock.requests.at(-1);
        expect(sent?.body).toBe('private body');
        expect({
          authorization: sent?.headers.authorization,
          'x-api-key': sent?.headers['x-api-key'],
        }).toStrictEqual(await credentials(client));
      });

      it(`${kind}: a ${status} outside the base path is returned and not followed`, async () => {
        const mock = await startMock();
        const client = clientFor(mock, options);
        await client.fetch('/warm-up');
        mock.resetStats();

        const response = await client.fetch(redirect('/outside/api', status), {
          method: 'PUT',
          body: 'private body',
        });

        expect(response.status).toBe(status);
        expect(mock.requests.map((request) => request.path)).toEqual([
          `/api${redirect('/outside/api', status)}`,
        ]);
      });
    }
  }

  it('a redirect to an allowed origin is not followed either', async () => {
    const mock = await startMock();
    const other = await startRecorder();
    const client = clientFor(mock, { allowedOrigins: [other.origin] });

    const response = await client.fetch(redirect(`${other.origin}/files/1`, 302));

    expect(response.status).toBe(302);
    expect(other.requests).toEqual([]);
  });

  it('a redirect to a userinfo URL on the same origin is not followed', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    const to = `${mock.origin.replace('http://', 'http://user:pass@')}/api/target`;

    const response = await client.fetch(redirect(to, 302));

    expect(response.status).toBe(302);
    expect(mock.requests.some((request) => request.path === '/api/target')).toBe(false);
  });

  it('a same-origin redirect to a path a server routes outside the base (`..;`, `%252e`) is not followed', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();

    for (const to of [
      '/api/..;/admin',
      '/api/a/.;x/..;/admin',
      '/api/%252e%252e/admin',
      '/api/a%252fb',
    ]) {
      mock.resetStats();
      const response = await client.fetch(redirect(to, 307), { method: 'PUT', body: 'private' });

      expect(response.status, to).toBe(307);
      expect(mock.requests.map((request) => request.path)).toEqual([`/api${redirect(to, 307)}`]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { MockUpstream } from '@tokenfetch/mock-upstream';
import { bearerOf, clientFor, collectEvents, startMock } from './helpers.js';
import type { ApiClient } from '../src/index.js';

/** A client whose token the upstream has just revoked, so its next call is answered 403. */
async function revokedClient(options: Parameters<typeof clientFor>[1] = {}): Promise<{
  mock: MockUpstream;
  client: ApiClient;
  first: string;
}> {
  const mock = await startMock();
  const client = clientFor(mock, options);
  const first = await client.getToken();
  mock.revokeTokens();
  mock.resetStats();
  return { mock, client, first };
}

/** The two sends of one replayed call: the 403 and the replay. */
function twoSends(mock: MockUpstream, first: string) {
  const sends = mock.requests;
  expect(sends).toHaveLength(2);
  const [rejected, replayed] = sends as [(typeof sends)[0], (typeof sends)[0]];
  expect(bearerOf(rejected.headers)).toBe(first);
  expect(bearerOf(replayed.headers)).not.toBe(first);
  return { rejected, replayed };
}

const ascii = (text: string) => new TextEncoder().encode(text);

describe('replay after a re-login (guarantee 5)', () => {
  // Each body with the content-type fetch sends for it (none for binary data), or the one
  // the caller set: the replay sends the same.
  const bodies: Array<{
    name: string;
    make: () => BodyInit;
    text: string;
    headers?: Record<string, string>;
    type: string | undefined;
  }> = [
    {
      name: 'a string',
      make: () => '{"a":1,"b":"two"}',
      text: '{"a":1,"b":"two"}',
      headers: { 'content-type': 'application/json' },
      type: 'application/json',
    },
    {
      name: 'a string without a content-type',
      make: () => 'plain words',
      text: 'plain words',
      type: 'text/plain;charset=UTF-8',
    },
    {
      name: 'URLSearchParams',
      make: () => new URLSearchParams({ q: 'a b&c', n: '1' }),
      text: 'q=a+b%26c&n=1',
      type: 'application/x-www-form-urlencoded;charset=UTF-8',
    },
    {
      name: 'an ArrayBuffer',
      make: () => ascii('array-buffer-body').buffer,
      text: 'array-buffer-body',
      type: undefined,
    },
    {
      name: 'a Uint8Array',
      make: () => ascii('typed-array-body'),
      text: 'typed-array-body',
      type: undefined,
    },
    {
      name: 'a Uint8Array view into a larger buffer',
      make: () => new Uint8Array(ascii('xx-view-body-yy').buffer, 3, 9),
      text: 'view-body',
      type: undefined,
    },
    {
      name: 'a DataView',
      make: () => new DataView(ascii('data-view-body').buffer),
      text: 'data-view-body',
      type: undefined,
    },
    {
      name: 'a Blob',
      make: () => new Blob(['blob-', 'body'], { type: 'text/x-blob' }),
      text: 'blob-body',
      type: 'text/x-blob',
    },
    {
      name: 'a Blob without a type',
      make: () => new Blob(['untyped-', 'blob']),
      text: 'untyped-blob',
      type: undefined,
    },
  ];

  for (const { name, make, text, headers, type } of bodies) {
    it(`${name} body is replayed intact, with the same content-type`, async () => {
      const { mock, client, first } = await revokedClient();

      const response = await client.fetch('/upload', {
        method: 'PUT',
        body: make(),
        ...(headers === undefined ? {} : { headers }),
      });

      expect(response.status).toBe(200);
      const { rejected, replayed } = twoSends(mock, first);
      for (const send of [rejected, replayed]) {
        expect(send.method).toBe('PUT');
        expect(send.body).toBe(text);
        expect(send.headers['content-type']).toBe(type);
        expect(send.headers['content-length']).toBe(String(Buffer.byteLength(text)));
      }
    });
  }

  it('a FormData body is replayed intact, file included', async () => {
    const { mock, client, first } = await revokedClient();
    const form = new FormData();
    form.append('title', 'quarterly report');
    form.append('file', new Blob(['file,contents\n1,2\n'], { type: 'text/csv' }), 'report.csv');

    const response = await client.fetch('/upload', { method: 'POST', body: form });

    expect(response.status).toBe(200);
    const { rejected, replayed } = twoSends(mock, first);
    for (const send of [rejected, replayed]) {
      const type = String(send.headers['content-type']);
      const boundary = /boundary=(.+)$/.exec(type)?.[1];
      expect(boundary).toBeDefined();
      const parts = parseMultipart(send.body, boundary ?? '');
      expect(parts).toEqual([
        { headers: 'Content-Disposition: form-data; name="title"', content: 'quarterly report' },
        {
          headers:
            'Content-Disposition: form-data; name="file"; filename="report.csv"\r\nContent-Type: text/csv',
          content: 'file,contents\n1,2\n',
        },
      ]);
    }
  });

  it('a replayed call keeps its method, query and headers', async () => {
    const { mock, client, first } = await revokedClient({ headers: { 'x-app': 'billing' } });

    const response = await client.fetch('/items?page=2&tag=a', {
      method: 'PATCH',
      headers: { 'x-request-id': 'req-1', 'content-type': 'text/plain' },
      body: 'patch',
    });

    expect(response.status).toBe(200);
    const { replayed } = twoSends(mock, first);
    expect(replayed).toMatchObject({
      method: 'PATCH',
      path: '/api/items?page=2&tag=a',
      body: 'patch',
    });
    expect(replayed.headers).toMatchObject({
      'x-app': 'billing',
      'x-request-id': 'req-1',
      'content-type': 'text/plain',
    });
  });

  it('a stream body is never replayed: the first 403 goes back to the caller', async () => {
    const { onEvent, ofType } = collectEvents();
    const { mock, client, first } = await revokedClient({ onEvent });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(ascii('streamed-'));
        controller.enqueue(ascii('body'));
        controller.close();
      },
    });

    const response = await client.fetch('/upload', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);

    expect(response.status).toBe(403);
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]?.body).toBe('streamed-body');
    expect(bearerOf(mock.requests[0]?.headers ?? {})).toBe(first);
    expect(ofType('reauth')).toMatchObject([{ type: 'reauth', status: 403, replayed: false }]);
    // The rejected token was still dropped: the next call logs in and succeeds.
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('a replay after a followed 303 sends the original method, body and content-type again', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    mock.resetStats();

    // POST → 303 → GET /status/403 (a reauth status) → re-login → the POST is replayed.
    const response = await client.fetch('/redirect?to=/api/status/403&status=303', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"order":7}',
    });

    expect(response.status).toBe(403);
    const posts = mock.requests.filter((request) => request.method === 'POST');
    expect(posts).toHaveLength(2);
    for (const post of posts) {
      expect(post.body).toBe('{"order":7}');
      expect(post.headers['content-type']).toBe('application/json');
    }
    expect(mock.requests.filter((request) => request.method === 'GET')).toHaveLength(2);
  });
});

function parseMultipart(
  body: string,
  boundary: string,
): Array<{ headers: string; content: string }> {
  return body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [headers = '', ...rest] = part
        .replace(/^\r\n/, '')
        .replace(/\r\n$/, '')
        .split('\r\n\r\n');
      return { headers, content: rest.join('\r\n\r\n') };
    });
}

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DEMO_API_KEY, type MockUpstream } from '@tokenfetch/mock-upstream';
import { ConfigError, CrossOriginError, defaults, type ApiClientOptions } from '../src/index.js';
import {
  bearerOf,
  clientFor,
  collectEvents,
  rejectionOf,
  startMock,
  startRecorder,
} from './helpers.js';

/**
 * A `Request` input behaves as `fetch(new Request(input, init))` would (docs/guarantees.md,
 * guarantees 5 and 8 hold for it as for a string): run on the undici path and on a client
 * with `fetch: globalThis.fetch`.
 */
const transports: Array<[name: string, options: Partial<ApiClientOptions>]> = [
  ['the default client', {}],
  ['a client with fetch: globalThis.fetch', { fetch: globalThis.fetch }],
];

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe.each(transports)('a Request input: %s', (_name, transport) => {
  async function revoked(options: Partial<ApiClientOptions> = {}) {
    const mock = await startMock();
    const client = clientFor(mock, { ...transport, ...options });
    const first = await client.getToken();
    mock.revokeTokens();
    mock.resetStats();
    return { mock, client, first };
  }

  /** The two sends of a replayed call: the one the upstream refused, and the replay. */
  function twoSends(mock: MockUpstream, first: string) {
    const sends = mock.requests;
    expect(sends).toHaveLength(2);
    expect(bearerOf(sends[0]!.headers)).toBe(first);
    expect(bearerOf(sends[1]!.headers)).not.toBe(first);
    return sends as [(typeof sends)[0], (typeof sends)[0]];
  }

  it('to another origin is refused with CrossOriginError before any I/O', async () => {
    const mock = await startMock();
    const other = await startRecorder();
    const client = clientFor(mock, transport);

    const error = await rejectionOf(
      client.fetch(new Request(`${other.origin}/api/data`, { method: 'POST', body: 'secret' })),
    );

    expect(error).toBeInstanceOf(CrossOriginError);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(other.connections).toBe(0);
    expect(mock.stats).toMatchObject({ loginAttempts: 0, calls: 0 });
  });

  it('goes through the same base-path guard as the same URL given as a string', async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);
    const urls = [
      `${mock.baseUrl}/data/1`,
      `${mock.origin}/api/../secret`,
      `${mock.origin}/api/%2e%2e/secret`,
      `${mock.baseUrl}/data%2f..%2f..%2fsecret`,
      `${mock.baseUrl}/data%5csecret`,
      `${mock.origin}/apix/data`,
      `${mock.origin}/other`,
      `${mock.baseUrl}/..;/secret`,
      `${mock.baseUrl}/data;jsessionid=1/x`,
    ];
    const outcome = async (input: string | Request) => {
      try {
        const response = await client.fetch(input);
        await response.body?.cancel();
        return { sent: mock.requests.at(-1)?.path };
      } catch (error) {
        return { refused: (error as Error).constructor.name };
      }
    };

    for (const url of urls) {
      const asString = await outcome(url);
      const asRequest = await outcome(new Request(url));
      expect(asRequest, url).toEqual(asString);
    }
    expect(await outcome(new Request(`${mock.origin}/api/../secret`))).toEqual({
      refused: 'CrossOriginError',
    });
  });

  it('its method, headers, body and content type are sent', async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);

    const response = await client.fetch(
      new Request(`${mock.baseUrl}/items?x=1`, {
        method: 'put',
        headers: { 'x-request-id': 'r-1' },
        body: 'request body',
      }),
    );

    expect(response.status).toBe(200);
    const [sent] = mock.requests;
    expect(sent).toMatchObject({ method: 'PUT', path: '/api/items?x=1', body: 'request body' });
    expect(sent?.headers).toMatchObject({
      'x-request-id': 'r-1',
      'content-type': 'text/plain;charset=UTF-8',
      'content-length': '12',
    });
    expect(bearerOf(sent?.headers ?? {})).toBeDefined();
  });

  it('init overrides the Request, as fetch(new Request(input, init)) does', async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);
    const request = new Request(`${mock.baseUrl}/items`, {
      method: 'PUT',
      headers: { 'x-a': 'from the request', 'content-type': 'text/x-request' },
      body: 'request body',
    });

    await client.fetch(request, {
      method: 'POST',
      headers: { 'x-b': 'from init' },
      body: '{"from":"init"}',
    });

    const [sent] = mock.requests;
    expect(sent).toMatchObject({ method: 'POST', body: '{"from":"init"}' });
    expect(sent?.headers['x-b']).toBe('from init');
    expect(sent?.headers['x-a']).toBeUndefined();
    expect(sent?.headers['content-type']).toBe('text/plain;charset=UTF-8');
  });

  it("its signal aborts the call with the signal's reason, with init given or not, after a garbage collection", async () => {
    const upstream = await startRecorder(() => 'hang');
    const client = clientFor(
      { baseUrl: `${upstream.origin}/api` },
      // Without the abort, the call ends in a TimeoutError instead of the reason.
      { ...transport, auth: { apiKey: DEMO_API_KEY }, timeoutMs: 3_000 },
    );
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;

    // As ky and openapi-fetch do: the caller keeps its Request while the call runs, and
    // passes an init (then fetch works on a new Request made of both).
    for (const init of [undefined, {}, { headers: { 'x-trace': 't' } }]) {
      const controller = new AbortController();
      const request = new Request(`${upstream.origin}/api/slow`, { signal: controller.signal });
      const reason = new Error('gave up');
      const sent = upstream.requests.length;

      const call = client.fetch(request, init);
      await expect.poll(() => upstream.requests.length).toBe(sent + 1);
      for (let round = 0; round < 3; round++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      controller.abort(reason);

      expect(await rejectionOf(call), JSON.stringify(init)).toBe(reason);
      expect(request.signal.aborted).toBe(true);
    }
  });

  it('a Request body that never ends is given up at timeoutMs, with a TimeoutError', async () => {
    const upstream = await startRecorder();
    const client = clientFor(
      { baseUrl: `${upstream.origin}/api` },
      { ...transport, auth: { apiKey: DEMO_API_KEY }, timeoutMs: 200 },
    );
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull: () => new Promise<void>(() => {}),
      cancel: (reason) => {
        cancelled = reason;
      },
    });

    const error = await rejectionOf(
      client.fetch(
        new Request(`${upstream.origin}/api/upload`, {
          method: 'POST',
          body,
          duplex: 'half',
        } as RequestInit),
      ),
    );

    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(cancelled).toBe(error);
  });

  it("its redirect mode is honoured: 'manual' returns the 3xx, 'error' rejects", async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);
    const url = `${mock.baseUrl}/redirect?to=/api/data&status=302`;

    const followed = await client.fetch(new Request(url));
    const manual = await client.fetch(new Request(url, { redirect: 'manual' }));
    const error = await rejectionOf(client.fetch(new Request(url, { redirect: 'error' })));

    expect(followed.status).toBe(200);
    expect(followed.redirected).toBe(true);
    expect(manual.status).toBe(302);
    expect(error).toBeInstanceOf(TypeError);
  });

  it('a credential header inside it is refused like one in init, and nothing is sent', async () => {
    const mock = await startMock();
    const session = clientFor(mock, transport);
    const apiKey = clientFor(mock, { ...transport, auth: { apiKey: DEMO_API_KEY } });

    const bearer = await rejectionOf(
      session.fetch(
        new Request(`${mock.baseUrl}/data`, { headers: { Authorization: 'Bearer mine' } }),
      ),
    );
    const key = await rejectionOf(
      apiKey.fetch(new Request(`${mock.baseUrl}/data`, { headers: { 'X-Api-Key': 'mine' } })),
    );
    const viaJson = await rejectionOf(
      session.json(new Request(`${mock.baseUrl}/data`, { headers: { authorization: 'x' } })),
    );

    for (const [error, name] of [
      [bearer, 'authorization'],
      [key, 'x-api-key'],
      [viaJson, 'authorization'],
    ] as const) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { path: `init.headers.${name}`, message: 'is set by tokenfetch; remove it' },
      ]);
    }
    expect(mock.stats).toMatchObject({ loginAttempts: 0, calls: 0 });
  });

  it('its body is replayed intact after a token revocation', async () => {
    const { mock, client, first } = await revoked();
    const body = JSON.stringify({ order: 7, note: 'ünïcödé ✓' });

    const response = await client.fetch(
      new Request(`${mock.baseUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }),
    );

    expect(response.status).toBe(200);
    const [rejected, replayed] = twoSends(mock, first);
    for (const send of [rejected, replayed]) {
      expect(send).toMatchObject({ method: 'POST', body });
      expect(send.headers['content-type']).toBe('application/json');
      expect(send.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    }
  });

  it('its stream body within the buffer limit is replayed intact', async () => {
    const { mock, client, first } = await revoked();

    const response = await client.fetch(
      new Request(`${mock.baseUrl}/upload`, {
        method: 'POST',
        body: streamOf('streamed ', 'in ', 'parts'),
        duplex: 'half',
      } as RequestInit),
    );

    expect(response.status).toBe(200);
    const [rejected, replayed] = twoSends(mock, first);
    expect(rejected.body).toBe('streamed in parts');
    expect(replayed.body).toBe('streamed in parts');
  });

  it('a body over the buffer limit goes as a stream and is not replayed: the first answer is returned', async () => {
    const { onEvent, ofType } = collectEvents();
    const { mock, client, first } = await revoked({ onEvent });
    const big = 'x'.repeat(defaults.replayBufferBytes + 1);

    const response = await client.fetch(
      new Request(`${mock.baseUrl}/upload`, { method: 'POST', body: big }),
    );

    expect(response.status).toBe(403);
    expect(mock.requests).toHaveLength(1);
    expect(bearerOf(mock.requests[0]!.headers)).toBe(first);
    expect(ofType('reauth')).toMatchObject([{ type: 'reauth', status: 403, replayed: false }]);
  });

  it('a body over the buffer limit arrives whole', async () => {
    const upstream = await startRecorder();
    const client = clientFor(
      { baseUrl: `${upstream.origin}/api` },
      { ...transport, auth: { apiKey: DEMO_API_KEY } },
    );
    const big = 'abcdefghij'.repeat(defaults.replayBufferBytes / 10 + 7);

    const response = await client.fetch(
      new Request(`${upstream.origin}/api/upload`, { method: 'POST', body: big }),
    );

    expect(response.status).toBe(200);
    expect(upstream.requests[0]?.body.length).toBe(big.length);
    expect(upstream.requests[0]?.body).toBe(big);
  });

  it("client.json(request) keeps the Request's headers and adds accept", async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);

    const echo = await client.json<{ headers: Record<string, string>; body: unknown }>(
      new Request(`${mock.baseUrl}/echo`, {
        method: 'POST',
        headers: { 'x-request-id': 'r-2', 'content-type': 'application/json' },
        body: '{"a":1}',
      }),
    );
    const own = await client.json<{ headers: Record<string, string> }>(
      new Request(`${mock.baseUrl}/echo`, { headers: { accept: 'application/vnd.x+json' } }),
    );

    expect(echo.headers).toMatchObject({
      'x-request-id': 'r-2',
      'content-type': 'application/json',
      accept: 'application/json',
    });
    expect(echo.body).toEqual({ a: 1 });
    expect(own.headers.accept).toBe('application/vnd.x+json');
  });

  it('a Request whose body was already read is a TypeError, as with fetch', async () => {
    const mock = await startMock();
    const client = clientFor(mock, transport);
    const request = new Request(`${mock.baseUrl}/data`, { method: 'POST', body: 'once' });
    await request.text();

    const error = await rejectionOf(client.fetch(request));

    expect(error).toBeInstanceOf(TypeError);
    expect(mock.stats.calls).toBe(0);
  });
});

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import zlib from 'node:zlib';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { createApiClient, type ApiClient, type ApiClientOptions } from '../src/index.js';
import { rejectionOf, track } from './helpers.js';

/**
 * Where the undici path and Node's own fetch must behave alike, every assertion runs
 * against both: the default client (undici's dispatcher) and one with `fetch:
 * globalThis.fetch`. Behaviour of the undici path alone (the body timeout, the connection
 * a cancelled body gives back, hostile status lines) is tested below the table.
 */

const text = 'hello, fetch fidelity! '.repeat(64);

type Encoder = (input: Buffer) => Buffer;
const encodings: Array<[coding: string, encode: Encoder]> = [
  ['gzip', (input) => zlib.gzipSync(input)],
  ['x-gzip', (input) => zlib.gzipSync(input)],
  ['deflate', (input) => zlib.deflateSync(input)],
  ['br', (input) => zlib.brotliCompressSync(input)],
  ['deflate, gzip', (input) => zlib.gzipSync(zlib.deflateSync(input))],
  ['GZIP', (input) => zlib.gzipSync(input)],
];

interface Fixture {
  readonly origin: string;
  /** The API's base URL on this server: `${origin}/api`. */
  readonly baseUrl: string;
  /** Requests to `/api/echo`, in order. */
  readonly echoed: Echoed[];
  /** Sockets the server has seen close. */
  readonly closedSockets: number;
  close(): Promise<void>;
}

interface Echoed {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A real `node:http` server with one route per answer shape. Closed after the test. */
async function startFixture(): Promise<Fixture> {
  const echoed: Echoed[] = [];
  let closedSockets = 0;
  const route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    switch (url.pathname) {
      case '/api/plain':
        res.writeHead(200, 'Fine', { 'content-type': 'text/plain' });
        res.end(text);
        return;
      case '/api/redirect':
        res.writeHead(302, { location: '/api/plain?via=redirect' });
        res.end();
        return;
      case '/api/encoded': {
        const coding = url.searchParams.get('coding') ?? '';
        const encode = encodings.find(([name]) => name === coding)?.[1] ?? ((input) => input);
        const raw = url.searchParams.get('raw') === '1';
        const encoded = raw ? zlib.deflateRawSync(Buffer.from(text)) : encode(Buffer.from(text));
        res.writeHead(200, { 'content-encoding': coding, 'content-length': encoded.length });
        res.end(encoded);
        return;
      }
      case '/api/typed': {
        const type = url.searchParams.get('type') ?? 'text/plain';
        res.writeHead(200, { 'content-type': type });
        res.end(url.searchParams.get('body') ?? '');
        return;
      }
      case '/api/bom':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]));
        return;
      case '/api/empty-deflate':
        res.writeHead(200, { 'content-encoding': 'deflate', 'content-length': '0' });
        res.end();
        return;
      case '/api/corrupt-gzip':
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end('this is not gzip');
        return;
      case '/api/multi':
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
        res.setHeader('x-multi', ['one', 'two']);
        res.end('multi');
        return;
      case '/api/no-content':
        res.writeHead(204);
        res.end();
        return;
      case '/api/not-modified':
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      case '/api/echo':
        echoed.push({ method: req.method ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(body);
        return;
      case '/api/hang':
        return;
      case '/api/stall':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk, then nothing');
        return;
      case '/api/endless': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const timer = setInterval(() => res.write(chunk), 5);
        res.on('close', () => clearInterval(timer));
        res.write(chunk);
        return;
      }
      case '/api/reset':
        res.writeHead(200, { 'content-length': '1000' });
        res.write('a part of the body');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => route(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (socket) => socket.on('close', () => closedSockets++));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return track({
    origin,
    baseUrl: `${origin}/api`,
    echoed,
    get closedSockets() {
      return closedSockets;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

/**
 * A TCP server that answers every request with the bytes `answer` gives for its head
 * (request line and headers), for answers `node:http` would refuse to send, and records
 * the heads. Closed after the test.
 */
async function startRawServer(
  answer: (head: string) => string | Buffer,
): Promise<{ baseUrl: string; heads: string[]; close(): Promise<void> }> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      let end = buffered.indexOf('\r\n\r\n');
      while (end !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        socket.write(answer(head));
        end = buffered.indexOf('\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return track({
    baseUrl: `${origin}/api`,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

const okAnswer = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

type ClientOptions = Partial<ApiClientOptions>;

const transports: Array<[name: string, options: ClientOptions]> = [
  ['the default client (undici dispatcher)', {}],
  ['a client with fetch: globalThis.fetch', { fetch: globalThis.fetch }],
];

function clientOf(baseUrl: string, options: ClientOptions = {}): ApiClient {
  return track(createApiClient({ baseUrl, auth: { apiKey: 'fixture-key' }, ...options }));
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe.each(transports)('fetch fidelity: %s', (_name, transport) => {
  async function setup(options: ClientOptions = {}) {
    const fixture = await startFixture();
    return { fixture, client: clientOf(fixture.baseUrl, { ...transport, ...options }) };
  }

  it('answers with the global Response, status, reason phrase and body', async () => {
    const { client } = await setup();

    const response = await client.fetch('/plain');

    expect(response).toBeInstanceOf(Response);
    expect(response.type).toBe('basic');
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('Fine');
    expect(response.ok).toBe(true);
    expect(await response.text()).toBe(text);
    expect(response.bodyUsed).toBe(true);
  });

  it('response.url is the URL answered, and redirected is false without a redirect', async () => {
    const { fixture, client } = await setup();

    const response = await client.fetch('/plain?x=1');

    expect(response.url).toBe(`${fixture.baseUrl}/plain?x=1`);
    expect(response.redirected).toBe(false);
    await response.body?.cancel();
  });

  it('response.url leaves out the fragment, which is never sent', async () => {
    const { fixture, client } = await setup();

    const response = await client.fetch('/echo?x=1#section');
    const bare = await client.fetch('/echo#');

    expect(response.url).toBe(`${fixture.baseUrl}/echo?x=1`);
    expect(bare.url).toBe(`${fixture.baseUrl}/echo`);
    await response.text();
    await bare.text();
  });

  it('after a same-origin redirect inside the base path, url is the final URL and redirected is true', async () => {
    const { fixture, client } = await setup();

    const response = await client.fetch('/redirect');

    expect(response.status).toBe(200);
    expect(response.url).toBe(`${fixture.baseUrl}/plain?via=redirect`);
    expect(response.redirected).toBe(true);
    expect(await response.text()).toBe(text);
  });

  for (const [coding] of encodings) {
    it(`a ${coding} answer is decoded, its content-encoding header kept`, async () => {
      const { client } = await setup();

      const response = await client.fetch(`/encoded?coding=${encodeURIComponent(coding)}`);

      expect(response.headers.get('content-encoding')).toBe(coding);
      expect(await response.text()).toBe(text);
    });
  }

  it('a deflate answer without the zlib wrapper (raw deflate) is decoded, as fetch does', async () => {
    const { client } = await setup();

    const response = await client.fetch('/encoded?coding=deflate&raw=1');

    expect(await response.text()).toBe(text);
  });

  it('an unknown content coding leaves the body as it came', async () => {
    const { client } = await setup();

    const response = await client.fetch('/encoded?coding=compress');

    expect(response.headers.get('content-encoding')).toBe('compress');
    expect(await response.text()).toBe(text);
  });

  it('a body that does not decode rejects its read with a TypeError', async () => {
    const { client } = await setup();

    const response = await client.fetch('/corrupt-gzip');

    expect(response.status).toBe(200);
    const error = await rejectionOf(response.text());
    expect(error).toBeInstanceOf(TypeError);
  });

  it('response.body is a byte stream: a BYOB reader reads it', async () => {
    const { client } = await setup();

    const response = await client.fetch('/plain');
    const reader = response.body!.getReader({ mode: 'byob' });
    let read = '';
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(1024));
      if (done) break;
      read += Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    }

    expect(read).toBe(text);
  });

  it('text, json, arrayBuffer, bytes and blob read the body as fetch does', async () => {
    const { client } = await setup();
    const json = '{"a":[1,"ü"]}';
    const typed = `/typed?type=${encodeURIComponent('application/json; charset=utf-8')}&body=${encodeURIComponent(json)}`;

    expect(await (await client.fetch(typed)).text()).toBe(json);
    expect(await (await client.fetch(typed)).json()).toEqual({ a: [1, 'ü'] });
    const buffer = await (await client.fetch(typed)).arrayBuffer();
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(buffer).toString('utf8')).toBe(json);
    const bytes = await (await client.fetch(typed)).bytes();
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).toString('utf8')).toBe(json);
    const blob = await (await client.fetch(typed)).blob();
    expect(blob.type).toBe('application/json;charset=utf-8');
    expect(await blob.text()).toBe(json);
  });

  it('text() and json() drop a leading byte order mark; bad JSON is a SyntaxError', async () => {
    const { client } = await setup();

    expect(await (await client.fetch('/bom')).json()).toEqual({ bom: true });
    expect(await (await client.fetch('/bom')).text()).toBe('{"bom":true}');
    const error = await rejectionOf((await client.fetch('/typed?body=%7Bnot')).json());
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('formData() reads urlencoded and multipart answers', async () => {
    const { client } = await setup();
    const multipart = new Response(form());
    const boundaryType = multipart.headers.get('content-type')!;
    const multipartBody = await multipart.text();

    const urlencoded = await (
      await client.fetch(
        `/typed?type=application/x-www-form-urlencoded&body=${encodeURIComponent('a=1&b=two+words')}`,
      )
    ).formData();
    const parts = await (
      await client.fetch(
        `/typed?type=${encodeURIComponent(boundaryType)}&body=${encodeURIComponent(multipartBody)}`,
      )
    ).formData();

    expect(urlencoded.get('a')).toBe('1');
    expect(urlencoded.get('b')).toBe('two words');
    expect(parts.get('field')).toBe('value');
    expect(await (parts.get('file') as File).text()).toBe('file content');
  });

  it('a body reads once: bodyUsed, then a TypeError for a second read or a clone', async () => {
    const { client } = await setup();

    const response = await client.fetch('/plain');
    expect(response.bodyUsed).toBe(false);
    await response.text();

    expect(response.bodyUsed).toBe(true);
    expect(await rejectionOf(response.text())).toBeInstanceOf(TypeError);
    expect(await rejectionOf(response.arrayBuffer())).toBeInstanceOf(TypeError);
    expect(() => response.clone()).toThrow(TypeError);
  });

  it('a body whose stream was taken cannot be read by text() as well', async () => {
    const { client } = await setup();

    const response = await client.fetch('/plain');
    const reader = response.body!.getReader();

    expect(response.bodyUsed).toBe(false);
    expect(await rejectionOf(response.text())).toBeInstanceOf(TypeError);
    const { value } = await reader.read();
    expect(value?.byteLength).toBeGreaterThan(0);
    expect(response.bodyUsed).toBe(true);
  });

  it('an empty deflate body reads as empty', async () => {
    const { client } = await setup();

    expect(await (await client.fetch('/empty-deflate')).text()).toBe('');
  });

  it('a clone and its original both read the whole body', async () => {
    const { client } = await setup();

    const response = await client.fetch('/encoded?coding=gzip');
    const copy = response.clone();

    expect(copy).toBeInstanceOf(Response);
    expect(copy.status).toBe(200);
    expect(copy.headers.get('content-encoding')).toBe('gzip');
    expect(await copy.text()).toBe(text);
    expect(await response.text()).toBe(text);
  });

  it('set-cookie values stay separate; other repeated headers are combined', async () => {
    const { client } = await setup();

    const response = await client.fetch('/multi');

    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(response.headers.get('x-multi')).toBe('one, two');
    expect(await response.text()).toBe('multi');
  });

  it("an answer's headers are immutable, in it and in its clone", async () => {
    const { client } = await setup();

    const response = await client.fetch('/multi');
    const copy = response.clone();

    for (const headers of [response.headers, copy.headers]) {
      expect(headers).toBeInstanceOf(Headers);
      expect(() => headers.set('x-added', '1')).toThrow(TypeError);
      expect(() => headers.append('x-multi', 'three')).toThrow(TypeError);
      expect(() => headers.delete('x-multi')).toThrow(TypeError);
      expect(headers.get('x-multi')).toBe('one, two');
    }
    await response.text();
    await copy.text();
  });

  it('HEAD, 204 and 304 answers have a null body', async () => {
    const { client } = await setup();

    const head = await client.fetch('/plain', { method: 'HEAD' });
    const noContent = await client.fetch('/no-content');
    const notModified = await client.fetch('/not-modified');

    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(noContent.status).toBe(204);
    expect(noContent.body).toBeNull();
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBeNull();
    expect(notModified.headers.get('etag')).toBe('"v1"');
    // Read as empty, as often as asked; the body stays null and unused.
    expect(await noContent.text()).toBe('');
    expect(await noContent.text()).toBe('');
    expect(noContent.body).toBeNull();
    expect(noContent.bodyUsed).toBe(false);
    expect(noContent.clone().body).toBeNull();
    // The connection is still good for the next call.
    expect(await (await client.fetch('/plain')).text()).toBe(text);
  });

  it('a body cut off mid-stream rejects its read with TypeError("terminated")', async () => {
    const { client } = await setup();

    const response = await client.fetch('/reset');

    expect(response.status).toBe(200);
    const error = await rejectionOf(response.text());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('terminated');
    expect((error as TypeError).cause).toBeInstanceOf(Error);
  });

  it('connection refused rejects with TypeError("fetch failed") and the socket error as cause', async () => {
    const fixture = await startFixture();
    await fixture.close();
    const client = clientOf(fixture.baseUrl, transport);

    const error = await rejectionOf(client.fetch('/plain'));

    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
    expect((error as TypeError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a call whose answer does not come in timeoutMs rejects with a DOMException named TimeoutError', async () => {
    const { client } = await setup({ timeoutMs: 80 });

    const error = await rejectionOf(client.fetch('/hang'));

    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });

  it("a caller's AbortSignal aborts the call with its reason, before and after the headers", async () => {
    const { client } = await setup();
    const reason = new Error('the caller gave up');

    const waiting = new AbortController();
    const call = client.fetch('/hang', { signal: waiting.signal });
    setTimeout(() => waiting.abort(reason), 20);
    expect(await rejectionOf(call)).toBe(reason);

    const reading = new AbortController();
    const response = await client.fetch('/stall', { signal: reading.signal });
    const reader = response.body!.getReader();
    await reader.read();
    reading.abort(reason);
    expect(await rejectionOf(reader.read())).toBe(reason);

    const collecting = new AbortController();
    const whole = await client.fetch('/stall', { signal: collecting.signal });
    const pending = whole.text();
    setTimeout(() => collecting.abort(reason), 20);
    expect(await rejectionOf(pending)).toBe(reason);

    const plain = new AbortController();
    const aborted = client.fetch('/hang', { signal: plain.signal });
    plain.abort();
    expect(await rejectionOf(aborted)).toMatchObject({ name: 'AbortError' });
  });

  it('the six standard methods are upper-cased in any case, others sent as given', async () => {
    const raw = await startRawServer(() => okAnswer);
    const client = clientOf(raw.baseUrl, transport);

    for (const method of ['get', 'Post', 'put', 'delete', 'options', 'head', 'patch', 'Custom']) {
      const response = await client.fetch('/m', { method });
      await response.text();
    }

    expect(raw.heads.map((head) => head.split(' ')[0])).toEqual([
      'GET',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
      'HEAD',
      'patch',
      'Custom',
    ]);
  });

  it("sends fetch's default accept, accept-encoding and user-agent; the caller's headers win", async () => {
    const { fixture, client } = await setup();

    await (await client.fetch('/echo')).text();
    await (
      await client.fetch('/echo', {
        headers: { Accept: 'application/json', 'User-Agent': 'mine/1.0', 'accept-encoding': 'br' },
      })
    ).text();

    const [plain, custom] = fixture.echoed;
    expect(plain?.headers).toMatchObject({ accept: '*/*', 'user-agent': 'node' });
    expect(plain?.headers['accept-encoding']).toMatch(/^(?=.*\bgzip\b)(?=.*\bdeflate\b)/);
    expect(custom?.headers).toMatchObject({
      accept: 'application/json',
      'user-agent': 'mine/1.0',
      'accept-encoding': 'br',
    });
  });

  it("a caller's host header is not sent: the Host is the URL's", async () => {
    const { fixture, client } = await setup({ headers: { host: 'tenant-a.example' } });

    await (await client.fetch('/echo', { headers: { Host: 'tenant-b.example' } })).text();
    await (await client.fetch('/echo')).text();

    const host = new URL(fixture.origin).host;
    expect(fixture.echoed.map((sent) => sent.headers.host)).toEqual([host, host]);
  });

  it('the headers option is sent, and the per-call headers win over it', async () => {
    const { fixture, client } = await setup({
      headers: { 'user-agent': 'service/2', 'x-team': 'billing' },
    });

    await (await client.fetch('/echo')).text();
    await (await client.fetch('/echo', { headers: { 'x-team': 'payments' } })).text();

    expect(fixture.echoed[0]?.headers).toMatchObject({
      'user-agent': 'service/2',
      'x-team': 'billing',
    });
    expect(fixture.echoed[1]?.headers).toMatchObject({
      'user-agent': 'service/2',
      'x-team': 'payments',
    });
  });

  const form = () => {
    const data = new FormData();
    data.append('field', 'value');
    data.append('file', new Blob(['file content'], { type: 'text/x-file' }), 'a.txt');
    return data;
  };
  const bodies: Array<[name: string, make: () => BodyInit, type: string | undefined]> = [
    ['a string', () => 'plain text', 'text/plain;charset=UTF-8'],
    [
      'URLSearchParams',
      () => new URLSearchParams({ q: 'a b' }),
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
    [
      'a Blob with a type',
      () => new Blob(['{"a":1}'], { type: 'application/json' }),
      'application/json',
    ],
    ['a Blob without a type', () => new Blob(['blob']), undefined],
    ['an ArrayBuffer', () => new TextEncoder().encode('bytes').buffer as ArrayBuffer, undefined],
    ['a Uint8Array', () => new TextEncoder().encode('bytes'), undefined],
  ];
  for (const [name, make, type] of bodies) {
    it(`${name} body goes with the content type fetch gives it (${type ?? 'none'}) and its length`, async () => {
      const { fixture, client } = await setup();
      const body = make();
      const expected = Buffer.from(await new Response(make()).arrayBuffer());

      await (await client.fetch('/echo', { method: 'POST', body })).text();

      const [sent] = fixture.echoed;
      expect(sent?.headers['content-type']).toBe(type);
      expect(sent?.headers['content-length']).toBe(String(expected.length));
      expect(sent?.body.equals(expected)).toBe(true);
    });
  }

  it('a FormData body goes as multipart/form-data that parses back into the same fields', async () => {
    const { fixture, client } = await setup();

    await (await client.fetch('/echo', { method: 'POST', body: form() })).text();

    const [sent] = fixture.echoed;
    const type = sent?.headers['content-type'];
    expect(type).toMatch(/^multipart\/form-data; boundary=/);
    const parsed = await new Response(new Uint8Array(sent!.body), {
      headers: { 'content-type': String(type) },
    }).formData();
    expect(parsed.get('field')).toBe('value');
    const file = parsed.get('file') as File;
    expect(file.name).toBe('a.txt');
    expect(await file.text()).toBe('file content');
  });

  it("a caller's content-type wins over the one fetch would give the body", async () => {
    const { fixture, client } = await setup();

    await (
      await client.fetch('/echo', {
        method: 'POST',
        body: '{"a":1}',
        headers: { 'Content-Type': 'application/json' },
      })
    ).text();

    expect(fixture.echoed[0]?.headers['content-type']).toBe('application/json');
  });

  it('a POST without a body sends content-length: 0', async () => {
    const { fixture, client } = await setup();

    await (await client.fetch('/echo', { method: 'POST' })).text();

    expect(fixture.echoed[0]?.headers['content-length']).toBe('0');
    expect(fixture.echoed[0]?.body.length).toBe(0);
  });

  it('a GET or HEAD with a body rejects with a TypeError and sends nothing', async () => {
    const { fixture, client } = await setup();

    for (const method of [undefined, 'get', 'HEAD']) {
      const error = await rejectionOf(
        client.fetch('/echo', { ...(method === undefined ? {} : { method }), body: 'a body' }),
      );
      expect(error, method).toBeInstanceOf(TypeError);
    }

    expect(fixture.echoed).toEqual([]);
  });

  it("a ReadableStream upload (duplex: 'half') arrives intact, chunked", async () => {
    const { fixture, client } = await setup();
    const parts = ['first part,', ' second part,', ' ünïcödé ✓'];

    const response = await client.fetch('/echo', {
      method: 'PUT',
      body: streamOf(...parts),
      duplex: 'half',
    } as RequestInit);

    expect(await response.text()).toBe(parts.join(''));
    const [sent] = fixture.echoed;
    expect(sent?.method).toBe('PUT');
    expect(sent?.body.toString('utf8')).toBe(parts.join(''));
    expect(sent?.headers['transfer-encoding']).toBe('chunked');
  });
});

describe('fetch fidelity: the undici path', () => {
  it('a clone of a redirected answer keeps its url and redirected, and both bodies read', async () => {
    const fixture = await startFixture();
    const client = clientOf(fixture.baseUrl);

    const response = await client.fetch('/redirect');
    const copy = response.clone();

    expect(copy).toBeInstanceOf(Response);
    expect(copy.url).toBe(`${fixture.baseUrl}/plain?via=redirect`);
    expect(copy.redirected).toBe(true);
    expect(await copy.text()).toBe(text);
    expect(await response.text()).toBe(text);
  });

  it('a body that stalls longer than timeoutMs rejects its read with a TimeoutError', async () => {
    const fixture = await startFixture();
    const client = clientOf(fixture.baseUrl, { timeoutMs: 100 });

    const response = await client.fetch('/stall');
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);

    const error = await rejectionOf(reader.read());
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });

  it('a decoded body that stalls is timed out too', async () => {
    const gzip = zlib.gzipSync(Buffer.from(text));
    const raw = await startRawServer(() =>
      Buffer.concat([
        Buffer.from(
          'HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n',
        ),
        Buffer.from(`${(gzip.length - 8).toString(16)}\r\n`),
        gzip.subarray(0, gzip.length - 8),
        Buffer.from('\r\n'),
      ]),
    );
    const client = clientOf(raw.baseUrl, { timeoutMs: 100 });

    const response = await client.fetch('/gzip-stall');

    const error = await rejectionOf(response.text());
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });

  it('cancelling a body mid-stream frees its connection', async () => {
    const fixture = await startFixture();
    const dispatcher = track(new Agent({ connections: 1 }));
    const client = clientOf(fixture.baseUrl, { dispatcher });

    const response = await client.fetch('/endless');
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();

    // One connection only: the second call gets one only if the first was given back.
    const second = await client.fetch('/plain');
    expect(await second.text()).toBe(text);
    await expect.poll(() => fixture.closedSockets).toBe(1);
  });

  it('cancelling a body before reading any of it frees its connection', async () => {
    const fixture = await startFixture();
    const dispatcher = track(new Agent({ connections: 1 }));
    const client = clientOf(fixture.baseUrl, { dispatcher });

    const response = await client.fetch('/endless');
    await response.body!.cancel();

    const second = await client.fetch('/plain');
    expect(await second.text()).toBe(text);
    await expect.poll(() => fixture.closedSockets).toBe(1);
  });

  it('a 403 whose body does not end is dropped before the replay, and its connection given back', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/api/user/authenticate') {
        logins++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: `token-${logins}` }));
      } else if (req.headers.authorization === 'Bearer token-1') {
        res.writeHead(403, { 'content-type': 'application/octet-stream' });
        const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024)), 5);
        res.on('close', () => clearInterval(timer));
      } else {
        res.end('replayed');
      }
    });
    let logins = 0;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    });
    const dispatcher = track(new Agent({ connections: 1 }));
    const client = track(
      createApiClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
        auth: { email: 'a@example.com', password: 'pw', orgId: 1 },
        dispatcher,
      }),
    );

    const response = await client.fetch('/data');

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('replayed');
    expect(logins).toBe(2);
  });

  it('cancelling a decoded body mid-stream frees its connection', async () => {
    const raw = await startRawServer((head) =>
      head.startsWith('GET /api/gzip ')
        ? Buffer.concat([
            Buffer.from(
              'HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n',
            ),
            Buffer.from('10\r\n'),
            zlib.gzipSync(Buffer.from(text)).subarray(0, 16),
            Buffer.from('\r\n'),
          ])
        : okAnswer,
    );
    const dispatcher = track(new Agent({ connections: 1 }));
    const client = clientOf(raw.baseUrl, { dispatcher });

    const response = await client.fetch('/gzip');
    await response.body!.cancel();

    const second = await client.fetch('/plain');
    expect(await second.text()).toBe('ok');
    expect(raw.heads).toHaveLength(2);
  });

  it('an answer whose body is never read gives its connection back once garbage-collected', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    let closed = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': big.length });
      res.end(big);
    });
    server.on('connection', (socket) => socket.on('close', () => closed++));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    });
    const dispatcher = track(new Agent({ connections: 1 }));
    const client = clientOf(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, {
      dispatcher,
    });
    // The answer is dropped unread: nothing refers to it once this returns.
    const statusOnly = async () => (await client.fetch('/big')).status;
    expect(await statusOnly()).toBe(200);

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await expect
      .poll(
        async () => {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 10));
          return closed;
        },
        { timeout: 5_000 },
      )
      .toBeGreaterThanOrEqual(1);
    const second = await client.fetch('/big');
    expect((await second.arrayBuffer()).byteLength).toBe(big.length);
  });

  it('a login slower than timeoutMs is timed by loginTimeoutMs, not cut by the call timeout', async () => {
    const mock = await startMockUpstream();
    track(mock);
    mock.setLoginDelay(1_500);
    const client = track(
      createApiClient({
        baseUrl: mock.baseUrl,
        auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
        timeoutMs: 500,
        loginTimeoutMs: 5_000,
      }),
    );

    // The call's wait for its token ends at timeoutMs; the login goes on.
    expect(await rejectionOf(client.fetch('/data'))).toMatchObject({ name: 'TimeoutError' });
    await expect.poll(() => mock.stats.successfulLogins, { timeout: 3_000 }).toBe(1);

    expect(mock.stats.loginAttempts).toBe(1);
    expect((await client.fetch('/data')).status).toBe(200);
  });

  it('a status outside 200–599 is TypeError("fetch failed"), and the process does not crash', async () => {
    const raw = await startRawServer((head) =>
      head.startsWith('GET /api/600 ')
        ? 'HTTP/1.1 600 Weird\r\ncontent-length: 2\r\n\r\nok'
        : okAnswer,
    );
    const client = clientOf(raw.baseUrl);

    const error = await rejectionOf(client.fetch('/600'));

    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
    expect((error as TypeError).cause).toBeInstanceOf(RangeError);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await (await client.fetch('/ok')).text()).toBe('ok');
  });

  it('a reason phrase the Response class refuses is dropped; the answer is delivered', async () => {
    const raw = await startRawServer((head) =>
      head.startsWith('GET /api/control ')
        ? 'HTTP/1.1 200 O\u0001K\r\ncontent-length: 2\r\n\r\nok'
        : Buffer.from('HTTP/1.1 201 Cr\u00e9\u00e9\r\ncontent-length: 2\r\n\r\nok', 'latin1'),
    );
    const client = clientOf(raw.baseUrl);

    const control = await client.fetch('/control');
    const latin1 = await client.fetch('/latin1');

    expect(control.status).toBe(200);
    expect(control.statusText).toBe('');
    expect(await control.text()).toBe('ok');
    expect(latin1.status).toBe(201);
    expect(await latin1.text()).toBe('ok');
  });
});

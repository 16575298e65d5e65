// What an adversarial pass against the undici per-call path found, each now a behaviour
// that holds: hostile answers, careless callers, timeouts, and the Response being fetch's.
// Real HTTP servers on port 0, no mocking. Global fetch (`fetch: globalThis.fetch`) is the
// reference where a test compares with it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { createApiFetchBinder } from '../src/adapter.js';
import { ClientClosedError, createApiClient, type ApiClientOptions } from '../src/index.js';
import { deferred, rejectionOf, track } from './helpers.js';

const token = 'attack-token-0123456789';
const hang = Symbol('hang');

interface Hostile {
  readonly baseUrl: string;
  /** Request lines (method and URL) of the calls that reached the server, login excluded. */
  readonly calls: string[];
  /** Host headers of those calls. */
  readonly hosts: (string | undefined)[];
  close(): Promise<void>;
}

/** An upstream that logs anyone in, then answers every call with `route`. */
async function startHostile(
  route: (req: IncomingMessage, res: ServerResponse, socket: Socket) => void,
): Promise<Hostile> {
  const calls: string[] = [];
  const hosts: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/api/user/authenticate') {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token }));
      });
      return;
    }
    calls.push(`${req.method} ${req.url}`);
    hosts.push(req.headers.host);
    route(req, res, req.socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return track({
    baseUrl: `http://127.0.0.1:${port}/api`,
    calls,
    hosts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

function clientOf(upstream: Pick<Hostile, 'baseUrl'>, options: Partial<ApiClientOptions> = {}) {
  return track(
    createApiClient({
      baseUrl: upstream.baseUrl,
      auth: { email: 'a@example.com', password: 'attack-password', orgId: 1 },
      ...options,
    }),
  );
}

/** `promise`, or `hang` if it has not settled within `ms` (so that a hang fails, not times out). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof hang> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof hang>((resolve) => {
    timer = setTimeout(() => resolve(hang), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How `promise` settles within `ms`: `{ value }`, `{ error }` or `'hang'`. */
async function outcome(
  promise: Promise<unknown>,
  ms = 2_000,
): Promise<{ value: unknown } | { error: unknown } | 'hang'> {
  try {
    const value = await within(promise, ms);
    return value === hang ? 'hang' : { value };
  } catch (error) {
    return { error };
  }
}

/** Reads a web stream to its end; resolves with the number of bytes read. */
async function readAll(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader();
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.byteLength;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes the headers and part of a body, then resets the connection. */
const resetMidBody = (_req: IncomingMessage, res: ServerResponse, socket: Socket) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('partial');
  setTimeout(() => socket.destroy(), 20);
};

/** Writes the headers and part of a body, then stalls. */
const stallMidBody = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('first');
};

describe('a hostile upstream (guarantee 13)', () => {
  it('survives an answer with status 600: the call rejects and the process does not crash', async () => {
    // Run in a child: today the process dies of an unhandled 'error' event on undici's
    // body (toResponse destroys it without a listener), even though the caller caught.
    const upstream = await startHostile((_req, _res, socket) => {
      socket.end('HTTP/1.1 600 Weird\r\ncontent-length: 2\r\n\r\nok');
    });
    const dir = await mkdtemp(join(tmpdir(), 'tokenfetch-attack-'));
    try {
      const script = join(dir, 'status-600.mts');
      const core = fileURLToPath(new URL('../src/index.ts', import.meta.url));
      await writeFile(
        script,
        `import { createApiClient } from ${JSON.stringify(core)};
const client = createApiClient({ baseUrl: process.argv[2], auth: { email: 'a@example.com', password: 'p', orgId: 1 } });
const caught = await client.fetch('/x').then(() => 'resolved', (error) => error.name);
await new Promise((resolve) => setTimeout(resolve, 300));
console.log('survived', caught);
await client.close();
`,
      );
      const result = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', script, upstream.baseUrl],
        { timeout: 15_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code?: number; stdout?: string }) => ({
          code: error.code,
          stdout: error.stdout ?? '',
        }),
      );
      expect(result).toEqual({ code: 0, stdout: 'survived TypeError\n' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a body cut by a connection reset before the caller reads it rejects text(), as fetch does (no hang)', async () => {
    const upstream = await startHostile(resetMidBody);
    const client = clientOf(upstream);
    const response = await client.fetch('/x');
    await pause(200); // the caller does something else first (a DB call, another fetch)

    const result = await outcome(response.text());

    expect(result).not.toBe('hang');
    expect(result).toMatchObject({ error: expect.any(TypeError) });
  });

  it('a gzip body cut by a connection reset before the caller reads it rejects text() (no hang)', async () => {
    const upstream = await startHostile((_req, res, socket) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.write(gzipSync('x'.repeat(1_000)).subarray(0, 20));
      setTimeout(() => socket.destroy(), 20);
    });
    const client = clientOf(upstream);
    const response = await client.fetch('/x');
    await pause(200);

    expect(await outcome(response.text())).toMatchObject({ error: expect.any(TypeError) });
  });

  it('a body cut by a connection reset before the caller touches response.body errors the stream, not a clean empty end', async () => {
    const upstream = await startHostile(resetMidBody);
    const client = clientOf(upstream);
    const response = await client.fetch('/x');
    await pause(200);

    // A proxy piping response.body downstream would send a truncated 200 as complete.
    const result = await outcome(readAll(response.body!));

    expect(result).toMatchObject({ error: expect.any(TypeError) });
  });

  it('a clone of an answer whose connection was reset errors too, instead of reading as ""', async () => {
    const upstream = await startHostile(resetMidBody);
    const client = clientOf(upstream);
    const response = await client.fetch('/x');
    await pause(200);

    expect(await outcome(response.clone().text())).toMatchObject({ error: expect.any(Error) });
  });

  it('refuses more than 5 content codings, as fetch does, instead of building a decoder per coding', async () => {
    // 3,000 `br` codings cost ~1 s of blocked event loop and ~75 MB per answer today.
    const codings = Array.from({ length: 50 }, () => 'gzip').join(', ');
    const upstream = await startHostile((_req, res) => {
      res.writeHead(200, { 'content-encoding': codings });
      res.end('x');
    });
    const client = clientOf(upstream);
    const reference = clientOf(upstream, { fetch: globalThis.fetch });

    expect(await rejectionOf(reference.fetch('/x'))).toBeInstanceOf(TypeError);
    expect(await outcome(client.fetch('/x'))).toMatchObject({ error: expect.any(TypeError) });
  });

  it('a body error while reading is a TypeError, as fetch rejects with ("terminated", the cause inside)', async () => {
    const upstream = await startHostile(resetMidBody);
    const client = clientOf(upstream);
    const response = await client.fetch('/x');

    const error = await rejectionOf(response.text());

    expect(error).toBeInstanceOf(TypeError); // today: undici's SocketError itself
  });

  it('a corrupt gzip body rejects with a TypeError, as fetch does', async () => {
    const upstream = await startHostile((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end('this is not gzip');
    });
    const client = clientOf(upstream);
    const response = await client.fetch('/x');

    expect(await rejectionOf(response.text())).toBeInstanceOf(TypeError); // today: zlib's Error
  });
});

describe('what a caller can do wrong (guarantees 8 and 13)', () => {
  it("a caller's abort after the headers rejects a later text() (no hang)", async () => {
    const upstream = await startHostile(stallMidBody);
    const client = clientOf(upstream);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const response = await client.fetch('/x', { signal: controller.signal });
    controller.abort(reason);
    await pause(50);

    const result = await outcome(response.text());

    // fetch rejects with an AbortError here; the caller's reason would do as well.
    expect(result).not.toBe('hang');
    expect(result).toHaveProperty('error');
  });

  it('an adapter whose downstream client left after the headers: the handler reading the body later is not left hanging', async () => {
    const upstream = await startHostile(stallMidBody);
    const client = clientOf(upstream);
    const bind = createApiFetchBinder(client);
    const headersIn = deferred();
    const handlerResult = deferred<unknown>();
    const app = createServer((_req, res) => {
      const apiFetch = bind(res);
      void (async () => {
        const answer = await apiFetch('/x');
        headersIn.resolve();
        await pause(200); // a DB call before the body is read
        handlerResult.resolve(await outcome(answer.text()));
        res.end();
      })();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => app.close(() => resolve())) });
    const downstream = get(`http://127.0.0.1:${(app.address() as AddressInfo).port}/`);
    downstream.on('error', () => {});
    await headersIn.promise;
    downstream.destroy();

    const result = await handlerResult.promise;

    expect(result).not.toBe('hang');
    expect(result).toMatchObject({ error: { name: 'AbortError' } });
  });

  for (const method of ['TRACE', 'TRACK', 'trace', 'connect']) {
    it(`refuses method ${method} before any I/O, as fetch does (a TRACE echo would hand back the bearer token)`, async () => {
      const upstream = await startHostile((req, res) => res.end(req.headers.authorization));
      const client = clientOf(upstream);
      await client.getToken();

      const result = await outcome(client.fetch('/x', { method }));

      expect(result).toMatchObject({ error: expect.any(TypeError) });
      expect(upstream.calls).toEqual([]);
    });
  }

  it("a caller's Host header does not redirect the bearer token to another virtual host (fetch ignores it)", async () => {
    const upstream = await startHostile((_req, res) => res.end('ok'));
    const client = clientOf(upstream);

    await client.fetch('/x', { headers: { host: 'other-tenant.example' } }).catch(() => {});

    // What a proxy forwarding req.headers would do. Sending it is a credential leak on a
    // shared ingress; refusing it (ConfigError) would do too.
    expect(upstream.hosts.filter((host) => host === 'other-tenant.example')).toEqual([]);
  });

  it('a GET with a body is refused as fetch refuses it, not sent', async () => {
    const upstream = await startHostile((req, res) => {
      req.resume();
      res.end('ok');
    });
    const client = clientOf(upstream);

    const result = await outcome(client.fetch('/x', { method: 'GET', body: 'payload' }));

    expect(result).toMatchObject({ error: expect.any(TypeError) });
    expect(upstream.calls).toEqual([]);
  });

  it('accepts init = null, as fetch does', async () => {
    const upstream = await startHostile((_req, res) => res.end('ok'));
    const client = clientOf(upstream);

    const response = await client.fetch('/x', null as unknown as RequestInit);

    expect(await response.text()).toBe('ok');
  });

  it("a Request whose body never ends: the Request's signal still ends the call", async () => {
    // fromRequest() buffers the body before anything looks at the signal or the timeout.
    const upstream = await startHostile((req, res) => {
      req.resume();
      res.end('ok');
    });
    const client = clientOf(upstream, { timeoutMs: 300 });
    const controller = new AbortController();
    const body = new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => {}) });
    const request = new Request(`${upstream.baseUrl}/x`, {
      method: 'POST',
      body,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    setTimeout(() => controller.abort(new Error('caller gave up')), 100);

    const result = await outcome(client.fetch(request));

    expect(result).toMatchObject({ error: { message: 'caller gave up' } });
  });
});

describe('timeouts and close() (guarantees 7, 11 and 13)', () => {
  it('timeoutMs ends a call whose stream upload stalls (the fetch path does, at timeoutMs)', async () => {
    const upstream = await startHostile((req) => req.resume());
    const client = clientOf(upstream, { timeoutMs: 300 });
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(new TextEncoder().encode('a')),
    });

    const result = await outcome(
      client.fetch('/x', { method: 'POST', body, duplex: 'half' } as RequestInit),
      2_500,
    );

    expect(result).toMatchObject({ error: { name: 'TimeoutError' } });
  });

  it('a timeoutMs under undici’s 1-second timer tick still ends the call, within about a second of it', async () => {
    const upstream = await startHostile(() => {});
    const client = clientOf(upstream, { timeoutMs: 200 });
    await client.getToken();
    const started = Date.now();

    const error = await rejectionOf(client.fetch('/x'));

    // Documented (packages/core/README.md, timeoutMs): undici keeps these timers on a
    // coarse clock, so the abort comes up to about 1 s late; it never comes early.
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('a stalled body times out with fetch’s TimeoutError, not undici’s BodyTimeoutError', async () => {
    const upstream = await startHostile(stallMidBody);
    const client = clientOf(upstream, { timeoutMs: 200 });
    const response = await client.fetch('/x');

    const result = await outcome(response.text());

    expect(result).toMatchObject({ error: { name: 'TimeoutError' } });
  });

  it('timeoutMs bounds each request of a call (each redirect hop), not the call as a whole', async () => {
    let hop = 0;
    const upstream = await startHostile((_req, res) => {
      hop++;
      // Three quick hops, then one that takes longer than timeoutMs.
      setTimeout(
        () => {
          if (hop < 4) res.writeHead(302, { location: `/api/hop${hop}` }).end();
          else res.end('done');
        },
        hop < 4 ? 50 : 3_000,
      );
    });
    const client = clientOf(upstream, { timeoutMs: 300 });
    await client.getToken();

    const result = await outcome(client.fetch('/x'), 2_800);

    expect(result).toMatchObject({ error: { name: 'TimeoutError' } });
    expect(hop).toBe(4);
  });

  for (const path of ['undici', 'fetch'] as const) {
    it(`close() while a call is in flight (${path} path): the call rejects with ClientClosedError, not a bare TypeError`, async () => {
      const answer = deferred();
      const upstream = await startHostile((_req, res) => {
        void answer.promise.then(() => res.end('late'));
      });
      const client = clientOf(upstream, path === 'fetch' ? { fetch: globalThis.fetch } : {});
      await client.getToken();
      const call = client.fetch('/x').then(
        (response) => response.text(),
        (error: unknown) => error,
      );
      await vi.waitFor(() => expect(upstream.calls).toHaveLength(1));

      // close() ends the call: it does not wait for the answer, which comes only after it.
      const closed = await Promise.race([
        client.close().then(() => 'closed'),
        pause(2_000).then(() => 'still closing'),
      ]);
      answer.resolve();

      expect(closed).toBe('closed');
      expect(await call).toBeInstanceOf(ClientClosedError);
    });
  }
});

describe('the Response is fetch’s (guarantee 13)', () => {
  const hello = (_req: IncomingMessage, res: ServerResponse) => res.end('hello');

  it("the answer's headers are immutable, as fetch's are", async () => {
    const upstream = await startHostile(hello);
    const response = await clientOf(upstream).fetch('/x');

    expect(() => response.headers.set('x-added', '1')).toThrow(TypeError);
  });

  it('response.url has no fragment, as fetch’s has none', async () => {
    const upstream = await startHostile(hello);
    const response = await clientOf(upstream).fetch('/x?a=1#fragment');

    expect(response.url).toBe(`${upstream.baseUrl}/x?a=1`);
  });

  it('clone() after part of the body was read is refused, as fetch refuses it', async () => {
    const upstream = await startHostile((_req, res) => {
      res.write('hel');
      setTimeout(() => res.end('lo'), 20);
    });
    const response = await clientOf(upstream).fetch('/x');
    const reader = response.body!.getReader();
    await reader.read();
    reader.releaseLock();

    expect(() => response.clone()).toThrow(TypeError); // today: both halves read 'lo'
  });

  it('a 204 keeps body === null after text(), as fetch’s does', async () => {
    const upstream = await startHostile((_req, res) => res.writeHead(204).end());
    const response = await clientOf(upstream).fetch('/x');
    await response.text();

    expect(response.body).toBeNull();
  });
});

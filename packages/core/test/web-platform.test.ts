// Core as Bun, Deno and Workers run it: `#platform` is web.ts there (package.json
// `imports`), so every call goes through the global fetch. What the README promises of a
// call must hold on that path as on undici's: a body read after the downstream client left
// or after close() is aborted, and one that stalls longer than timeoutMs times out.
import { createServer, get, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { createApiFetchBinder } from '../src/adapter.js';
import { ConfigError, createApiClient } from '../src/index.js';
import { defaultTransport } from '../src/platform/node.js';
import { deferred, track } from './helpers.js';

vi.mock('../src/platform/node.js', () => import('../src/platform/web.js'));

const token = 'web-platform-token-0123456789';

/** An upstream that logs anyone in, then answers every call with `route`. */
async function startUpstream(route: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/api/user/authenticate') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token }));
      return;
    }
    route(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
}

/** Writes a first chunk, then nothing more. */
const stallMidBody = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('first');
};

function clientOf(baseUrl: string, timeoutMs = 30_000) {
  return track(
    createApiClient({
      baseUrl,
      auth: { email: 'a@example.com', password: 'web-password', orgId: 1 },
      timeoutMs,
    }),
  );
}

/** How `promise` settled within `ms`, or 'hang'. */
async function outcome(promise: Promise<unknown>, ms = 2_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), ms);
  });
  try {
    const value = await Promise.race([promise, hang]);
    return value === 'hang' ? 'hang' : { value };
  } catch (error) {
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

describe('core on the web platform (the global fetch)', () => {
  it('runs on web.ts here', () => {
    expect(defaultTransport).toBe('fetch');
  });

  it('a body that stalls longer than timeoutMs rejects its read with a TimeoutError', async () => {
    const client = clientOf(await startUpstream(stallMidBody), 200);
    const response = await client.fetch('/x');

    const result = await outcome(response.text());

    expect(result).toMatchObject({ error: { name: 'TimeoutError' } });
  });

  it('a body that streams slower than timeoutMs per chunk but never stalls is read whole', async () => {
    const client = clientOf(
      await startUpstream((res) => {
        res.writeHead(200);
        let sent = 0;
        const timer = setInterval(() => {
          if (++sent === 4) {
            clearInterval(timer);
            res.end('d');
          } else res.write('c');
        }, 100);
      }),
      250,
    );
    const response = await client.fetch('/x');

    expect(await outcome(response.text())).toEqual({ value: 'cccd' });
  });

  it('a body read after the downstream client left is aborted, not left hanging', async () => {
    const bind = createApiFetchBinder(clientOf(await startUpstream(stallMidBody)));
    const headersIn = deferred();
    const handlerResult = deferred<unknown>();
    const app = createServer((_req, res) => {
      const apiFetch = bind(res);
      void (async () => {
        const answer = await apiFetch('/x');
        headersIn.resolve();
        await new Promise((resolve) => setTimeout(resolve, 100)); // a DB call first
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

    expect(await handlerResult.promise).toMatchObject({ error: { name: 'AbortError' } });
  });

  it("a caller's abort ends a body being read, even through a fetch that ignores the signal", async () => {
    const baseUrl = await startUpstream(stallMidBody);
    // A test double that hands back fetch's answer but drops the signal.
    const deaf: typeof fetch = (input, init) => fetch(input, { ...init, signal: null });
    const client = track(
      createApiClient({
        baseUrl,
        auth: { email: 'a@example.com', password: 'pw', orgId: 1 },
        fetch: deaf,
      }),
    );
    const controller = new AbortController();
    const response = await client.fetch('/x', { signal: controller.signal });
    const read = outcome(response.text());

    controller.abort(new Error('caller gave up'));

    expect(await read).toMatchObject({ error: { message: 'caller gave up' } });
  });

  it('close() ends a body being read', async () => {
    const client = clientOf(await startUpstream(stallMidBody));
    const response = await client.fetch('/x');
    const read = outcome(response.text());

    await client.close();

    expect(await read).toMatchObject({ error: { name: 'ClientClosedError' } });
  });

  it('an answer keeps what fetch says of it: status, headers, url, redirected; a clone reads too', async () => {
    let hop = 0;
    const client = clientOf(
      await startUpstream((res) => {
        if (hop++ === 0) res.writeHead(302, { location: '/api/there' }).end();
        else res.writeHead(201, 'Made', { 'x-answer': '42' }).end('body');
      }),
    );

    const response = await client.fetch('/here');

    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('x-answer')).toBe('42');
    expect(response.url).toMatch(/\/api\/there$/);
    expect(response.redirected).toBe(true);
    const copy = response.clone();
    expect(copy.url).toBe(response.url);
    expect(copy.redirected).toBe(true);
    expect(copy.headers.get('x-answer')).toBe('42');
    expect(await copy.text()).toBe('body');
    expect(await response.text()).toBe('body');
    const empty = await client.fetch('/empty', { method: 'HEAD' });
    expect(empty.body).toBeNull();
  });
});

describe('a loopback target and a proxy variable (Bun, Deno: their fetch reads it)', () => {
  const auth = { email: 'svc@example.com', password: 'pw-not-for-the-proxy', orgId: 1 };

  it('is refused at creation, naming the variable and NO_PROXY, never the password', () => {
    vi.stubEnv('http_proxy', '');
    vi.stubEnv('no_proxy', '');
    vi.stubEnv('NO_PROXY', '');
    vi.stubEnv('HTTP_PROXY', 'http://user:proxy-secret@proxy.corp.example:3128');
    try {
      const error = rejectionOfSync(() =>
        createApiClient({ baseUrl: 'http://localhost:4010/api', auth }),
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        {
          path: 'baseUrl',
          message: expect.stringMatching(/HTTP_PROXY is set.*Add localhost to NO_PROXY/),
        },
      ]);
      expect(String(error)).not.toMatch(/pw-not-for-the-proxy|proxy-secret/);
      // Your own fetch is yours; NO_PROXY that names the host lets the runtime go direct.
      track(createApiClient({ baseUrl: 'http://localhost:4010/api', auth, fetch }));
      vi.stubEnv('NO_PROXY', 'localhost');
      track(createApiClient({ baseUrl: 'http://localhost:4010/api', auth }));
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

function rejectionOfSync(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

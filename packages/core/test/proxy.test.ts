import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_USER, type MockUpstream } from '@tokenfetch/mock-upstream';
import { EnvHttpProxyAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiClient, loadOptionsFromEnv, type ApiClientOptions } from '../src/index.js';
import { parseOptions } from '../src/client/options.js';
import { bearerOf, demoAuth, startMock, track } from './helpers.js';

const run = promisify(execFile);

/**
 * A name only the proxy knows: it reaches 127.0.0.1 there. Loopback hosts are never sent
 * through a proxy, so a test of the proxy itself needs a target that is not loopback.
 */
const proxiedHost = 'upstream.test';
const hostFor = (hostname: string) => (hostname === proxiedHost ? '127.0.0.1' : hostname);

/** A forward proxy: CONNECT tunnels and absolute-form requests, every relayed byte kept. */
interface ForwardProxy {
  readonly url: string;
  /** `host:port` of each CONNECT. */
  readonly tunnels: string[];
  /** URL of each absolute-form request. */
  readonly forwarded: string[];
  /** Everything the proxy saw: request heads, and the bytes it relayed both ways. */
  seen(): Buffer;
  close(): Promise<void>;
}

async function startForwardProxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const keep = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((req, res) => {
    forwarded.push(req.url ?? '');
    chunks.push(Buffer.from(`${req.method} ${req.url}\r\n${JSON.stringify(req.headers)}\r\n`));
    const target = new URL(req.url ?? '');
    target.hostname = hostFor(target.hostname);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    chunks.push(Buffer.from(`CONNECT ${req.url}\r\n${JSON.stringify(req.headers)}\r\n`));
    keep(client);
    const at = (req.url ?? '').lastIndexOf(':');
    const target = connect(
      Number((req.url ?? '').slice(at + 1)),
      hostFor((req.url ?? '').slice(0, at)),
    );
    keep(target);
    target.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) {
        chunks.push(head);
        target.write(head);
      }
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      target.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.pipe(target);
      target.pipe(client);
    });
    target.on('close', () => client.destroy());
    client.on('close', () => target.destroy());
  });
  server.on('connection', keep);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return track({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    forwarded,
    seen: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

/** A self-signed certificate for 127.0.0.1, localhost and the proxied name, made with openssl for this file. */
let tls: { dir: string; certPath: string; cert: string; key: string };

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tokenfetch-proxy-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    `subjectAltName=DNS:localhost,DNS:${proxiedHost},IP:127.0.0.1`,
  ]);
  tls = {
    dir,
    certPath,
    cert: await readFile(certPath, 'utf8'),
    key: await readFile(keyPath, 'utf8'),
  };
});

afterAll(async () => {
  await rm(tls.dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/**
 * The mock upstream behind TLS: `https://upstream.test:PORT/api`, a name only the proxy
 * resolves, each request passed on to it.
 */
async function startHttpsMock(): Promise<{ mock: MockUpstream; baseUrl: string }> {
  const mock = await startMock();
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const upstream = httpRequest(
      new URL(req.url ?? '/', mock.origin),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  const port = (server.address() as AddressInfo).port;
  return { mock, baseUrl: `https://${proxiedHost}:${port}/api` };
}

const session = {
  API_EMAIL: DEMO_USER.email,
  API_PASSWORD: DEMO_USER.password,
  API_ORG_ID: '1',
};

/** Options from `env`, their dispatcher closed after the test. */
function optionsFrom(env: Record<string, string>): ApiClientOptions {
  const options = loadOptionsFromEnv(env);
  if (options.dispatcher !== undefined) track(options.dispatcher);
  return options;
}

describe('proxies from the environment', () => {
  it('HTTP_PROXY carries the login and the calls; the environment given is the one read', async () => {
    const mock = await startMock();
    const proxy = await startForwardProxy();
    // Were process.env read instead, this would send everything past the proxy.
    vi.stubEnv('NO_PROXY', '*');
    vi.stubEnv('no_proxy', '*');
    const options = optionsFrom({ ...session, API_BASE_URL: mock.baseUrl, HTTP_PROXY: proxy.url });
    // A host only the proxy resolves, so that nothing reaches it but through the proxy.
    const target = new URL(mock.baseUrl);
    target.hostname = proxiedHost;
    const client = track(
      createApiClient({ ...options, baseUrl: target.href, allowInsecureHttp: true }),
    );

    const me = await client.json<{ email: string }>('/user/users/me');

    expect(me.email).toBe(DEMO_USER.email);
    expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 1 });
    // Undici tunnels plain http too (CONNECT); either way the proxy carried both requests.
    const carried = [...proxy.tunnels, ...proxy.forwarded.map((url) => new URL(url).host)];
    expect(carried.length).toBeGreaterThanOrEqual(1);
    expect(new Set(carried)).toEqual(new Set([target.host]));
  });

  it.each(['127.0.0.1', 'localhost'])(
    'a loopback base URL (%s) is reached directly whatever the environment says: no password or token crosses a proxy',
    async (host) => {
      const mock = await startMock();
      const proxy = await startForwardProxy();
      const baseUrl = new URL(mock.baseUrl);
      baseUrl.hostname = host;
      const client = track(
        createApiClient(
          optionsFrom({
            ...session,
            API_BASE_URL: baseUrl.href,
            HTTP_PROXY: proxy.url,
            HTTPS_PROXY: proxy.url,
          }),
        ),
      );

      expect((await client.fetch('/data')).status).toBe(200);

      expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 1 });
      expect(proxy.forwarded).toEqual([]);
      expect(proxy.tunnels).toEqual([]);
      expect(proxy.seen().length).toBe(0);
    },
  );

  it("timeoutMs bounds the environment's proxy as the client's own Agent (a caller's dispatcher keeps its own timeouts)", () => {
    const env = { ...session, API_BASE_URL: 'https://api.example.com/api' };
    const proxied = optionsFrom({ ...env, HTTPS_PROXY: 'http://proxy.example:3128' });
    expect(proxied.timeoutMs).toBeUndefined();
    expect(parseOptions(proxied).timeoutGiven).toBe(true);
    const own = track(new EnvHttpProxyAgent({ httpsProxy: 'http://proxy.example:3128' }));
    expect(parseOptions({ ...optionsFrom(env), dispatcher: own }).timeoutGiven).toBe(false);
  });

  it('NO_PROXY sends its hosts past the proxy', async () => {
    const mock = await startMock();
    const proxy = await startForwardProxy();
    const options = optionsFrom({
      ...session,
      API_BASE_URL: mock.baseUrl,
      http_proxy: proxy.url,
      NO_PROXY: 'example.com, 127.0.0.1',
    });
    const client = track(createApiClient(options));

    expect((await client.fetch('/data')).status).toBe(200);

    expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 1 });
    expect(proxy.tunnels).toEqual([]);
    expect(proxy.forwarded).toEqual([]);
  });

  it('an https base URL goes through a CONNECT tunnel; no credential crosses the proxy in clear', async () => {
    const { mock, baseUrl } = await startHttpsMock();
    const proxy = await startForwardProxy();
    const dispatcher = track(
      new EnvHttpProxyAgent({
        httpsProxy: proxy.url,
        httpProxy: '',
        noProxy: '',
        requestTls: { ca: tls.cert },
      }),
    );
    const client = track(createApiClient({ baseUrl, auth: demoAuth, dispatcher }));

    const me = await client.json<{ email: string }>('/user/users/me');
    const echoed = await client.json<{ body: unknown }>('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'a body in the tunnel' }),
    });

    expect(me.email).toBe(DEMO_USER.email);
    expect(echoed.body).toEqual({ note: 'a body in the tunnel' });
    expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 2 });
    const token = bearerOf(mock.requests[0]?.headers ?? {});
    expect(token).toBeDefined();
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(baseUrl).host]));
    expect(proxy.forwarded).toEqual([]);
    const seen = proxy.seen().toString('latin1');
    expect(seen.length).toBeGreaterThan(1000);
    for (const secret of [DEMO_USER.password, token!, 'Bearer', 'a body in the tunnel']) {
      expect(seen).not.toContain(secret);
    }
  });

  it('a process configured only by its environment logs in and calls through HTTPS_PROXY, and exits', async () => {
    const { mock, baseUrl } = await startHttpsMock();
    const proxy = await startForwardProxy();
    const script = fileURLToPath(new URL('./fixtures/call-through-env.ts', import.meta.url));

    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], {
      timeout: 15_000,
      env: {
        PATH: process.env.PATH ?? '',
        ...session,
        API_BASE_URL: baseUrl,
        HTTPS_PROXY: proxy.url,
        NODE_EXTRA_CA_CERTS: tls.certPath,
      },
    });

    expect(stdout.trim()).toBe(`ok ${DEMO_USER.email}`);
    expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 1 });
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(baseUrl).host]));
    const token = bearerOf(mock.requests[0]?.headers ?? {});
    const seen = proxy.seen().toString('latin1');
    expect(seen).not.toContain(DEMO_USER.password);
    expect(seen).not.toContain(token);
  });
});

/**
 * What Node's `fetch` does and `client.fetch` does the same (docs/guarantees.md, guarantee
 * 13) where undici's own fetch tests found it did not (issue 21, item 9; bench/fetch-suite/),
 * each stated over real HTTP against a `node:http` server.
 */
import { createHash } from 'node:crypto';
import { getMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { ClientClosedError } from '../src/index.js';
import { createApiClient, type ApiClient, type ApiClientOptions } from '../src/index.js';
import { pause, rejectionOf, track } from './helpers.js';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

interface Server {
  readonly origin: string;
  readonly seen: Seen[];
}

/** A `node:http` server on 127.0.0.1, port 0, answering with `route` (default: 200 `hello`). */
async function serve(
  route: (req: IncomingMessage, res: ServerResponse) => boolean | void = () => false,
): Promise<Server> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (route(req, res) === true) return;
    res.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return { origin: `http://127.0.0.1:${port}`, seen };
}

/** A client of `origin` with an API key, as a user makes one; closed after the test. */
function clientOf(origin: string, options: Partial<ApiClientOptions> = {}): ApiClient {
  return track(createApiClient({ baseUrl: origin, auth: { apiKey: 'gap-key' }, ...options }));
}

/** An Agent that counts the requests dispatched through it. */
function countingAgent(options?: Agent.Options): Agent & { dispatched: number } {
  class Counting extends Agent {
    dispatched = 0;
    override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      this.dispatched++;
      return super.dispatch(opts, handler);
    }
  }
  return track(new Counting(options));
}

/** A dispatcher with only `dispatch()`, as fetch takes one, over its own Agent. */
function dispatchOnly(): { dispatch: Dispatcher['dispatch']; dispatched: number } {
  const agent = track(new Agent());
  const out = {
    dispatched: 0,
    dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      out.dispatched++;
      return agent.dispatch(opts, handler);
    },
  };
  return out;
}

describe('a per-call dispatcher', () => {
  it('init.dispatcher carries the call, as with fetch', async () => {
    const { origin } = await serve();
    const agent = countingAgent();
    const client = clientOf(origin);
    const response = await client.fetch('/x', { dispatcher: agent } as RequestInit);
    expect(await response.text()).toBe('hello');
    expect(agent.dispatched).toBe(1);
    // The next call without one goes through the client's own Agent again.
    expect(await (await client.fetch('/x')).text()).toBe('hello');
    expect(agent.dispatched).toBe(1);
  });

  it('a dispatcher with only dispatch() carries a call given in init', async () => {
    const { origin } = await serve();
    const dispatcher = dispatchOnly();
    const client = clientOf(origin);
    const response = await client.fetch('/x', { dispatcher } as RequestInit);
    expect(await response.text()).toBe('hello');
    expect(dispatcher.dispatched).toBe(1);
  });

  it('the dispatcher option takes a dispatcher with only dispatch(), as fetch does', async () => {
    const { origin } = await serve();
    const dispatcher = dispatchOnly();
    const client = clientOf(origin, { dispatcher: dispatcher as unknown as Dispatcher });
    expect(await (await client.fetch('/x')).text()).toBe('hello');
    expect(dispatcher.dispatched).toBe(1);
  });

  it("init's dispatcher wins over the Request's; the Request's carries it where Node lets it be read", async () => {
    const { origin } = await serve();
    const [a, b] = [countingAgent(), countingAgent()];
    const client = clientOf(origin);
    const request = new Request(`${origin}/x`, { dispatcher: a } as RequestInit);
    await (await client.fetch(request, { dispatcher: b } as RequestInit)).text();
    expect([a.dispatched, b.dispatched]).toEqual([0, 1]);
    await (await client.fetch(request)).text();
    // Node 20's Request keeps it under a symbol; Node 22 and later keep it private.
    const readable = Object.getOwnPropertySymbols(request).some(
      (symbol) => symbol.description === 'dispatcher',
    );
    expect([a.dispatched, b.dispatched]).toEqual(readable ? [1, 1] : [0, 1]);
  });

  it('a per-call dispatcher without dispatch() is a TypeError before any I/O', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const error = await rejectionOf(client.fetch('/x', { dispatcher: {} } as RequestInit));
    expect(error).toBeInstanceOf(TypeError);
    expect(server.seen).toHaveLength(0);
  });

  it('close() ends a call in flight on a per-call dispatcher, which stays open', async () => {
    const server = await serve((req) => req.url === '/hang');
    const agent = countingAgent();
    const client = createApiClient({ baseUrl: server.origin, auth: { apiKey: 'gap-key' } });
    const call = rejectionOf(client.fetch('/hang', { dispatcher: agent } as RequestInit));
    while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await client.close();
    expect(await call).toBeInstanceOf(ClientClosedError);
    expect(agent.closed).toBe(false);
  });
});

describe('timeoutMs and a dispatcher of the caller', () => {
  /** A server whose answer to `/slow` comes after 1.5 s. */
  const slowServer = () =>
    serve((req, res) => {
      if (req.url !== '/slow') return false;
      setTimeout(() => res.end('late'), 1_500);
      return true;
    });

  // undici checks its timeouts about twice a second: 300 ms fires within about 1 s.
  it("the dispatcher option's own headersTimeout applies when timeoutMs is not set", async () => {
    const { origin } = await slowServer();
    const client = clientOf(origin, { dispatcher: track(new Agent({ headersTimeout: 300 })) });
    const error = await rejectionOf(client.fetch('/slow'));
    expect((error as Error).name).toBe('TimeoutError');
  });

  it("a per-call dispatcher's own headersTimeout applies when timeoutMs is not set", async () => {
    const { origin } = await slowServer();
    const client = clientOf(origin);
    const dispatcher = track(new Agent({ headersTimeout: 300 }));
    const error = await rejectionOf(client.fetch('/slow', { dispatcher } as RequestInit));
    expect((error as Error).name).toBe('TimeoutError');
  });

  it('a timeoutMs that is set bounds a per-call dispatcher too', async () => {
    const { origin } = await slowServer();
    const client = clientOf(origin, { timeoutMs: 200 });
    const dispatcher = track(new Agent({ headersTimeout: 60_000 }));
    const error = await rejectionOf(client.fetch('/slow', { dispatcher } as RequestInit));
    expect((error as Error).name).toBe('TimeoutError');
  });
});

describe('arguments, the wire and redirects, as fetch takes them', () => {
  it('a 407 answer is a TypeError, as fetch makes it (it asks no one for proxy credentials)', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(407).end();
      return true;
    });
    const client = clientOf(server.origin);
    const error = await rejectionOf(client.fetch('/x', { window: null } as RequestInit));
    expect(error).toBeInstanceOf(TypeError);
    expect(((error as Error).cause as Error).message).toBe('proxy authentication required');
  });

  it('a window other than null is a TypeError before any I/O', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const error = await rejectionOf(client.fetch('/x', { window: {} } as unknown as RequestInit));
    expect(error).toBeInstanceOf(TypeError);
    expect(server.seen).toHaveLength(0);
  });
  it('an empty query (a trailing ?) is kept', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    await (await client.fetch('/x?')).text();
    expect(server.seen[0]!.url).toBe('/x?');
  });
  it('a non-ASCII Location (UTF-8 bytes) is decoded as UTF-8, as fetch does', async () => {
    const server = await serve((req, res) => {
      if (req.url !== '/from') return false;
      // The header's bytes are the UTF-8 of '/안녕', as servers send them.
      res.writeHead(302, { location: `/${Buffer.from('안녕').toString('latin1')}` }).end();
      return true;
    });
    const client = clientOf(server.origin);
    const response = await client.fetch('/from');
    expect(response.url).toBe(`${server.origin}/%EC%95%88%EB%85%95`);
  });
  it("redirect: 'error' rejects with fetch's TypeError and its cause", async () => {
    const server = await serve((req, res) => {
      if (req.url !== '/from') return false;
      res.writeHead(302, { location: '/to' }).end();
      return true;
    });
    const client = clientOf(server.origin);
    const error = await rejectionOf(client.fetch('/from', { redirect: 'error' }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).message).toBe('unexpected redirect');
  });
  it('fetch() with no URL rejects with a TypeError', async () => {
    const client = clientOf('http://127.0.0.1:9');
    const error = await rejectionOf((client.fetch as () => Promise<Response>)());
    expect(error).toBeInstanceOf(TypeError);
  });
  it("client.fetch has fetch's arity (1)", () => {
    expect(clientOf('http://127.0.0.1:9').fetch.length).toBe(1);
  });
  it('an already aborted signal cancels a stream body with the AbortError', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    let cancelledWith: unknown;
    const body = new ReadableStream({
      cancel(reason) {
        cancelledWith = reason;
      },
    });
    const init = { method: 'POST', body, duplex: 'half', signal: AbortSignal.abort() };
    const error = await rejectionOf(client.fetch('/x', init as RequestInit));
    expect((error as Error).name).toBe('AbortError');
    expect((cancelledWith as Error | undefined)?.name).toBe('AbortError');
  });
  it('15 calls sharing one signal raise no MaxListenersExceededWarning', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      // Unread answers, as in undici's test: each keeps its listener while its body is open.
      for (let i = 0; i < 15; i++) await client.fetch('/x', { signal: controller.signal });
      await pause(20);
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
      // Node 20 gives a signal the default limit of 10 (raised here); from Node 22 an
      // AbortSignal has none (0), and nothing needs raising.
      const limit = getMaxListeners(controller.signal);
      expect(limit === 0 || limit >= 15, `limit ${limit}`).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('referrer and referrerPolicy, as fetch sends them', () => {
  it('referrer is sent as Referer (same origin: the whole URL, no fragment)', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    await (await client.fetch('/x', { referrer: `${server.origin}/page?x=1#frag` })).text();
    expect(server.seen[0]!.headers.referer).toBe(`${server.origin}/page?x=1`);
  });
  it("referrerPolicy 'origin' sends only the referrer's origin", async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const init: RequestInit = { referrer: `${server.origin}/page?x=1`, referrerPolicy: 'origin' };
    await (await client.fetch('/x', init)).text();
    expect(server.seen[0]!.headers.referer).toBe(`${server.origin}/`);
  });
  it("a redirect's Referrer-Policy applies to the next hop", async () => {
    const server = await serve((req, res) => {
      if (req.url !== '/from') return false;
      res.writeHead(302, { location: '/to', 'referrer-policy': 'origin' }).end();
      return true;
    });
    const client = clientOf(server.origin);
    await (await client.fetch('/from', { referrer: `${server.origin}/page?x=1` })).text();
    expect(server.seen.map((seen) => seen.headers.referer)).toEqual([
      `${server.origin}/page?x=1`,
      `${server.origin}/`,
    ]);
  });

  it("a Request's referrer and policy are taken; '' and 'no-referrer' send none", async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const referrer = `${server.origin}/page?x=1`;
    const request = new Request(`${server.origin}/a`, { referrer, referrerPolicy: 'origin' });
    await (await client.fetch(request)).text();
    await (await client.fetch('/b', { referrer: '' })).text();
    await (await client.fetch('/c', { referrer, referrerPolicy: 'no-referrer' })).text();
    await (await client.fetch('/d')).text();
    expect(server.seen.map((seen) => seen.headers.referer)).toEqual([
      `${server.origin}/`,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('a referrerPolicy that is not one is a TypeError before any I/O', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const init = { referrer: `${server.origin}/`, referrerPolicy: 'everywhere' };
    const error = await rejectionOf(client.fetch('/x', init as unknown as RequestInit));
    expect(error).toBeInstanceOf(TypeError);
    expect(server.seen).toHaveLength(0);
  });

  it("with undici's global origin set, a call sends it as fetch's client referrer", async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const key = Symbol.for('undici.globalOrigin.1');
    const scope = globalThis as Record<symbol, unknown>;
    scope[key] = new URL('https://app.example/page');
    try {
      await (await client.fetch('/x')).text();
    } finally {
      delete scope[key];
    }
    // strict-origin-when-cross-origin, https to http: a downgrade, but to loopback (trustworthy).
    expect(server.seen[0]!.headers.referer).toBe('https://app.example/');
  });
});

describe('header names on the wire', () => {
  it('header names keep the case the caller gave', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    await (await client.fetch('/x', { headers: { 'X-Custom-Header': 'v' } })).text();
    expect(server.seen[0]!.rawHeaders).toContain('X-Custom-Header');
  });

  it('pairs keep their spelling too; the first spelling of a name wins; one header each', async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    const headers: [string, string][] = [
      ['X-Trace-Id', 'a'],
      ['x-trace-id', 'b'],
      ['Accept', 'text/plain'],
    ];
    await (await client.fetch('/x', { headers })).text();
    const raw = server.seen[0]!.rawHeaders;
    const names = raw.filter((_, index) => index % 2 === 0);
    expect(names).toContain('X-Trace-Id');
    expect(names.filter((name) => name.toLowerCase() === 'x-trace-id')).toHaveLength(1);
    // The client's default accept is replaced, not sent beside the caller's.
    expect(names.filter((name) => name.toLowerCase() === 'accept')).toEqual(['Accept']);
    expect(server.seen[0]!.headers.accept).toBe('text/plain');
    expect(server.seen[0]!.headers['x-trace-id']).toBe('a, b');
  });

  it("a Headers object's names go lower-case (it keeps their spelling private)", async () => {
    const server = await serve();
    const client = clientOf(server.origin);
    await (await client.fetch('/x', { headers: new Headers({ 'X-Custom-Header': 'v' }) })).text();
    expect(server.seen[0]!.rawHeaders).toContain('x-custom-header');
  });
});

describe('integrity, as fetch checks it', () => {
  it('a wrong integrity rejects with a TypeError, a right one resolves', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const right = `sha256-${createHash('sha256').update('hello').digest('base64')}`;
    expect(await (await client.fetch('/x', { integrity: right })).text()).toBe('hello');
    const error = await rejectionOf(client.fetch('/x', { integrity: 'sha256-AAAA' }));
    expect(error).toBeInstanceOf(TypeError);
  });

  const hash = (algorithm: string, encoding: 'base64' | 'base64url' = 'base64') =>
    `${algorithm}-${createHash(algorithm).update('hello').digest(encoding)}`;

  it('the strongest algorithm given decides; base64url and unknown tokens as fetch takes them', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    // A right sha256 beside a wrong sha512: sha512 decides.
    const mixed = `${hash('sha256')} sha512-AAAA`;
    expect(await rejectionOf(client.fetch('/x', { integrity: mixed }))).toBeInstanceOf(TypeError);
    const url = await client.fetch('/x', { integrity: hash('sha384', 'base64url') });
    expect(await url.text()).toBe('hello');
    // No valid token at all: nothing to check.
    expect(await (await client.fetch('/x', { integrity: 'md5-xyz' })).text()).toBe('hello');
  });

  it('of several hashes of the strongest algorithm, any one that matches will do', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const right = hash('sha256');
    // The same length as the right one, one character off: a mismatch, then the right one.
    const wrong = `${right.slice(0, -2)}${right.at(-2) === 'A' ? 'B' : 'A'}${right.at(-1)}`;
    const response = await client.fetch('/x', { integrity: `${wrong} ${right}` });
    expect(await response.text()).toBe('hello');
    const error = await rejectionOf(client.fetch('/x', { integrity: `${wrong} ${wrong}` }));
    expect(error).toBeInstanceOf(TypeError);
  });

  it("a checked answer still says what fetch's would: url, status, headers", async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const response = await client.fetch('/x?q=1', { integrity: hash('sha512') });
    expect(response).toBeInstanceOf(Response);
    expect([response.url, response.status, response.headers.get('content-length')]).toEqual([
      `${origin}/x?q=1`,
      200,
      '5',
    ]);
    expect(await response.clone().text()).toBe('hello');
    expect(await response.text()).toBe('hello');
  });

  it("a wrong integrity's TypeError says why, as fetch's cause does", async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const error = await rejectionOf(client.fetch('/x', { integrity: 'sha256-AAAA' }));
    expect(((error as Error).cause as Error).message).toBe('integrity mismatch');
  });
});

describe('resource timing, as fetch reports it (resourceTiming: true)', () => {
  it('each call makes a resource-timing entry for its URL', async () => {
    const { origin } = await serve();
    const client = clientOf(origin, { resourceTiming: true });
    const entries: PerformanceEntry[] = [];
    const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
    observer.observe({ entryTypes: ['resource'] });
    try {
      await (await client.fetch('/timed')).text();
      await pause(50);
      expect(entries.map((entry) => entry.name)).toContain(`${origin}/timed`);
    } finally {
      observer.disconnect();
    }
  });

  /** What a `PerformanceResourceTiming` says (Node 20's types lack some of it). */
  type ResourceEntry = Record<
    | 'startTime'
    | 'fetchStart'
    | 'domainLookupStart'
    | 'connectEnd'
    | 'requestStart'
    | 'responseStart'
    | 'responseEnd'
    | 'redirectStart'
    | 'redirectEnd'
    | 'encodedBodySize'
    | 'decodedBodySize',
    number
  > & { name: string; initiatorType: string };

  /** The resource entries made while `run` runs (and shortly after). */
  async function entriesOf(run: () => Promise<void>): Promise<ResourceEntry[]> {
    const entries: ResourceEntry[] = [];
    const observer = new PerformanceObserver((list) =>
      entries.push(...(list.getEntries() as unknown as ResourceEntry[])),
    );
    observer.observe({ entryTypes: ['resource'] });
    try {
      await run();
      await pause(50);
    } finally {
      observer.disconnect();
    }
    return entries;
  }

  it('none by default: each costs CPU and garbage on every call', async () => {
    const { origin } = await serve();
    const client = clientOf(origin);
    const entries = await entriesOf(async () => {
      await (await client.fetch('/untimed')).text();
    });
    expect(entries).toEqual([]);
  });

  it('one entry per call, made when its body is read, with its sizes and times in order', async () => {
    const { origin } = await serve();
    const client = clientOf(origin, { resourceTiming: true });
    let before = 0;
    const entries = await entriesOf(async () => {
      const response = await client.fetch('/a');
      await pause(20);
      before = performance.getEntriesByName(`${origin}/a`, 'resource').length;
      await response.text();
    });
    expect(before).toBe(0);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry!.initiatorType).toBe('fetch');
    expect([entry!.encodedBodySize, entry!.decodedBodySize]).toEqual([5, 5]);
    const order = [
      entry!.startTime,
      entry!.fetchStart,
      entry!.domainLookupStart,
      entry!.connectEnd,
      entry!.requestStart,
      entry!.responseStart,
      entry!.responseEnd,
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(entry!.startTime).toBeGreaterThan(0);
    expect([entry!.redirectStart, entry!.redirectEnd]).toEqual([0, 0]);
  });

  it('a redirected call makes one entry, named by its first URL, with its redirect times', async () => {
    const { origin } = await serve((req, res) => {
      if (req.url !== '/from') return false;
      res.writeHead(307, { location: '/to' }).end();
      return true;
    });
    const client = clientOf(origin, { resourceTiming: true });
    const entries = await entriesOf(async () => {
      await (await client.fetch('/from')).text();
    });
    expect(entries.map((entry) => entry.name)).toEqual([`${origin}/from`]);
    const [entry] = entries;
    expect(entry!.redirectStart).toBe(entry!.startTime);
    expect(entry!.redirectEnd).toBeGreaterThan(entry!.redirectStart);
    expect(entry!.fetchStart).toBe(entry!.redirectEnd);
  });

  it('a compressed body: its encoded and decoded sizes', async () => {
    const zipped = gzipSync(Buffer.from('hello '.repeat(200)));
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(zipped);
      return true;
    });
    const client = clientOf(origin, { resourceTiming: true });
    const entries = await entriesOf(async () => {
      expect(await (await client.fetch('/z')).text()).toBe('hello '.repeat(200));
    });
    expect([entries[0]!.encodedBodySize, entries[0]!.decodedBodySize]).toEqual([
      zipped.length,
      1200,
    ]);
  });
});

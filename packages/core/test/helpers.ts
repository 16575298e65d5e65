import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import type { MockUpstreamOptions } from '@tokenfetch/mock-upstream';
import { afterEach } from 'vitest';
import { createApiClient, type ApiClient, type ApiClientOptions } from '../src/index.js';
import type { TokenFetchEvent } from '../src/index.js';

/** The demo user's credentials, as the client's `auth` shorthand. */
export const demoAuth = {
  email: DEMO_USER.email,
  password: DEMO_USER.password,
  orgId: 1,
} as const;

/** A start time on a whole second, so JWT `exp` (seconds) and HTTP dates line up with it. */
export const T0 = 1_700_000_000_000;

/** A clock that only moves when told to; pass `clock.now` to the client and the mock. */
export interface Clock {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function createClock(start = T0): Clock {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
    set(ms) {
      time = ms;
    },
  };
}

type Closer = () => Promise<unknown> | unknown;
const closers: Closer[] = [];

afterEach(async () => {
  const pending = closers.splice(0).reverse();
  for (const close of pending) await close();
});

/** Closes `thing` after the current test (clients before servers: last registered, first closed). */
export function track<T extends { close(): Promise<unknown> | unknown }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

/** A mock upstream on port 0, closed after the test. */
export async function startMock(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  return track(await startMockUpstream(options));
}

/** A client of `mock` with the demo credentials (override anything), closed after the test. */
export function clientFor(
  mock: Pick<MockUpstream, 'baseUrl'>,
  options: Partial<ApiClientOptions> = {},
): ApiClient {
  return track(createApiClient({ baseUrl: mock.baseUrl, auth: demoAuth, ...options }));
}

/** Collects the events a client reports. */
export function collectEvents(): {
  events: TokenFetchEvent[];
  onEvent: (event: TokenFetchEvent) => void;
  ofType<K extends TokenFetchEvent['type']>(type: K): Extract<TokenFetchEvent, { type: K }>[];
} {
  const events: TokenFetchEvent[] = [];
  return {
    events,
    onEvent: (event) => events.push(event),
    ofType: <K extends TokenFetchEvent['type']>(type: K) =>
      events.filter((event): event is Extract<TokenFetchEvent, { type: K }> => event.type === type),
  };
}

/** A request a {@link startRecorder} server received. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Recorder {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Every request received, body included; also those cut off mid-body. */
  readonly requests: RecordedRequest[];
  /** Connections accepted, whether or not a request completed on them. */
  readonly connections: number;
  /** Connections accepted and not closed yet. */
  readonly open: number;
  close(): Promise<void>;
}

type Handler = (
  request: RecordedRequest,
) => { status?: number; headers?: Record<string, string>; body?: string } | 'hang';

/**
 * A plain `node:http` server that records every request it receives (body included, as it
 * arrives) and answers with `handler` once the body is in (default: 200 `ok`). Closed
 * after the test.
 */
export async function startRecorder(handler?: Handler): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const request: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
    };
    requests.push(request);
    req.on('data', (chunk: Buffer) => {
      request.body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const answer = handler?.(request) ?? {};
      if (answer === 'hang') return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? 'ok');
    });
  });
  let open = 0;
  server.on('connection', (socket) => {
    connections++;
    open++;
    socket.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return track({
    origin: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    get open() {
      return open;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  });
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** An unsigned JWT with `payload`; tokenfetch only reads its `exp`. */
export function makeJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.signature`;
}

/** Waits a few real milliseconds (for sockets and unhandled-rejection detection). */
export function pause(ms = 10): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The rejection of `promise` (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** The bearer token of a recorded request, or undefined. */
export function bearerOf(headers: Record<string, unknown>): string | undefined {
  const value = headers.authorization;
  return typeof value === 'string' ? /^Bearer (.+)$/.exec(value)?.[1] : undefined;
}

/**
 * Records every unhandled rejection while the test runs. Call `stop()` (also done after
 * the test) and read `reasons`.
 */
export function watchUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  const stop = () => process.off('unhandledRejection', listener);
  closers.push(stop);
  return { reasons, stop };
}

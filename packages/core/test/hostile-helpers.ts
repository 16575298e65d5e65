// Shared by the adversarial suites (properties, hostile-login, hostile-input, secrets).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect } from 'vitest';

type Closer = () => Promise<unknown> | unknown;
const closers: Closer[] = [];

afterEach(async () => {
  // Last registered, first closed: clients before the servers they talk to.
  for (const close of closers.splice(0).reverse()) await close();
});

/** Closes `thing` after the current test. */
export function closeAfterTest<T extends { close(): Promise<unknown> | unknown }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

/** A request a {@link startRecordingServer} received. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Every request received, body included; also those cut off mid-body. */
  readonly requests: Recorded[];
  /** Connections accepted, whether or not a request completed on them. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A plain `node:http` server on port 0 that records everything it receives and answers
 * `200 recorded`. Closed after the test.
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const entry: Recorded = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
    };
    requests.push(entry);
    req.on('data', (chunk: Buffer) => {
      entry.body += chunk.toString('utf8');
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('recorded');
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return closeAfterTest({
    origin: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
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

/**
 * Fails the current test if any promise rejection goes unhandled while it runs (checked
 * after the test, once pending I/O callbacks have had a turn).
 */
export function failOnUnhandledRejection(): void {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  closers.unshift(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    process.off('unhandledRejection', listener);
    expect(reasons, 'unhandled rejections').toEqual([]);
  });
}

/** The rejection of `promise`; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

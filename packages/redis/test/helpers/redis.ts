import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** The shared Redis of the test run. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What the Redis suites say when nothing answers at `redisUrl`. */
export const missingRedis = `no Redis at ${redisUrl} (start redis-server, or set REDIS_URL)`;

const inCi = Boolean(process.env.CI);

/** Answers PING over a raw socket, so the probe needs neither client library. */
export async function probeRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // +PONG, or -NOAUTH from a Redis that wants a password: either way it is there.
    socket.once('data', (data) => done(/^[+-]/.test(data.toString('latin1'))));
  });
}

/**
 * Whether a Redis suite runs. Without Redis it is skipped locally, loudly; in CI (`CI`
 * set) it runs and fails, so a missing Redis never passes for green.
 */
export function redisGate(what: string, available: boolean, missing: string): boolean {
  if (!available && !inCi) {
    console.warn(
      `\n!!! ${what} SKIPPED: ${missing}. With CI set, these tests fail instead of skipping.\n`,
    );
  }
  return available || inCi;
}

/** The reason a gated suite fails in CI. */
export function assertAvailable(available: boolean, missing: string): void {
  if (!available) throw new Error(`${missing} (CI is set, so this fails instead of skipping)`);
}

export const hasRedisServer =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** A unique key prefix per test, so tests never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `tftest-${label.replace(/\W+/g, '-')}-${randomBytes(4).toString('hex')}`;
}

/** The four keys of one store key under `prefix`. */
export function keysOf(
  prefix: string,
  storeKey: string,
): Record<'token' | 'lock' | 'gen' | 'fail', string> {
  const tag = `{${prefix}:${storeKey}}`;
  return { token: `${tag}:token`, lock: `${tag}:lock`, gen: `${tag}:gen`, fail: `${tag}:fail` };
}

/** Deletes every key under `{prefix:…}` on the Redis at `url`. */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const keys = await redis.keys(`{${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A private `redis-server` this test may stop, restart and count commands on. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL): connections drop, nothing is saved. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port. With `cluster`, a one-node Redis Cluster that owns
 * every slot: enough for Redis to refuse scripts whose keys span slots (CROSSSLOT).
 */
export async function startPrivateRedis(
  options: { cluster?: boolean } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const dir = options.cluster === true ? mkdtempSync(join(tmpdir(), 'tokenfetch-redis-')) : '';
  const clusterArgs =
    options.cluster === true
      ? ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--dir', dir]
      : [];

  async function start(): Promise<void> {
    if (dir !== '') mkdirSync(dir, { recursive: true });
    const spawned = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...clusterArgs,
      ],
      { stdio: 'ignore' },
    );
    child = spawned;
    const deadline = Date.now() + 5_000;
    while (!(await probeRedis(url, 200))) {
      if (spawned.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on port ${port}`);
      }
      await sleep(20);
    }
    if (options.cluster === true) await claimAllSlots(url);
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }

  await start();
  return { port, url, start, stop };
}

async function claimAllSlots(url: string): Promise<void> {
  const redis = new Redis(url);
  try {
    await redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    const deadline = Date.now() + 10_000;
    while (!String(await redis.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error('the one-node cluster never became ready');
      await sleep(50);
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * A TCP proxy in front of Redis that holds each answer back by `delayMs`, and a
 * connection's first answer by `firstAnswerDelayMs` more (a Redis far away, or behind a
 * TLS handshake, takes that long to be ready).
 */
export interface SlowProxy {
  readonly url: string;
  delayMs: number;
  firstAnswerDelayMs: number;
  /** `EVAL` commands sent through the proxy so far (the store sends nothing else). */
  readonly evals: number;
  close(): Promise<void>;
}

const evalCommand = /\$4\r\neval\r\n/gi;

export async function startSlowProxy(targetPort: number): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  const proxy: SlowProxy = { url: '', delayMs: 0, firstAnswerDelayMs: 0, evals: 0, close };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    let tail = ''; // a command's name may arrive split across two chunks
    client.on('data', (data) => {
      const text = tail + data.toString('latin1');
      Object.assign(proxy, { evals: proxy.evals + (text.match(evalCommand)?.length ?? 0) });
      tail = text.slice(-9);
      upstream.write(data);
    });
    // Answers keep their order: each waits for the one before it.
    let queue = Promise.resolve();
    let first = true;
    upstream.on('data', (data) => {
      const delay = proxy.delayMs + (first ? proxy.firstAnswerDelayMs : 0);
      first = false;
      queue = queue.then(async () => {
        if (delay > 0) await sleep(delay, undefined, { ref: false });
        if (!client.destroyed) client.write(data);
      });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  Object.assign(proxy, { url: `redis://127.0.0.1:${address.port}` });

  async function close(): Promise<void> {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return proxy;
}

/** Calls of each command the server has run, from `INFO commandstats`. */
export async function commandStats(url: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('commandstats');
    const stats = new Map<string, number>();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      stats.set(match[1] ?? '', Number(match[2]));
    }
    return stats;
  } finally {
    redis.disconnect();
  }
}

// Private `redis-server` processes for the Cluster and Sentinel tests and for the bench:
// started on free ports in a temporary directory, frozen (SIGSTOP), thawed, killed and
// stopped by PID. Node built-ins only, so the bench can import this file as it is.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A RESP reply: a string, an integer, nil, an array of replies, or an error (`-ERR …`). */
export type Reply = string | number | null | Reply[] | ReplyError;

/** An error reply, returned (not thrown) so that callers can read MOVED, LOADING, …. */
export class ReplyError {
  constructor(readonly message: string) {}
}

/**
 * Sends one command to the server on `port` over a connection of its own, and answers its
 * reply. Rejects after `timeoutMs` (a frozen server accepts the connection and never answers).
 */
export function command(port: number, args: readonly string[], timeoutMs = 1_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, reply?: Reply) => {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(reply ?? null);
      else reject(error);
    };
    const timer = setTimeout(
      () => finish(new Error(`redis :${port} ${args[0]} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (error) => finish(error));
    socket.once('connect', () => {
      const parts = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      const parsed = parse(buffer, 0);
      if (parsed !== undefined) finish(undefined, parsed.reply);
    });
  });
}

/** Like `command`, but an error reply throws. */
export async function call(port: number, args: readonly string[], timeoutMs?: number) {
  const reply = await command(port, args, timeoutMs);
  if (reply instanceof ReplyError) throw new Error(`redis :${port} ${args[0]}: ${reply.message}`);
  return reply;
}

/** One reply from `buffer` at `offset`, or undefined when it has not all arrived. */
function parse(buffer: Buffer, offset: number): { reply: Reply; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { reply: line, end: next };
  if (type === '-') return { reply: new ReplyError(line), end: next };
  if (type === ':') return { reply: Number(line), end: next };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { reply: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    if (count < 0) return { reply: null, end: next };
    const items: Reply[] = [];
    let end = next;
    for (let i = 0; i < count; i++) {
      const item = parse(buffer, end);
      if (item === undefined) return undefined;
      items.push(item.reply);
      end = item.end;
    }
    return { reply: items, end };
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
}

/** `INFO section` as a map of its `field:value` lines. */
export async function info(port: number, section: string, timeoutMs?: number) {
  const text = String(await call(port, ['INFO', section], timeoutMs));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** A port nobody listens on right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls `condition` every `everyMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let met = false;
    try {
      met = await condition();
    } catch {
      // A server that is starting, frozen or gone: not yet.
    }
    if (met) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A server that exited before it answered: most often, one of its ports was taken. */
export class ExitedWhileStartingError extends Error {
  constructor(port: number) {
    super(`redis-server on port ${port} exited while starting (its port taken?)`);
  }
}

/**
 * Runs `start` with `count` distinct free ports, picked now; again with other ports when
 * the server exited while starting (a port picked free may be taken by another process,
 * a connection's ephemeral port included, before the server binds it).
 */
export async function withFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await start(ports);
    } catch (error) {
      if (!(error instanceof ExitedWhileStartingError) || attempt >= attempts) throw error;
    }
  }
}

/** A `redis-server` (or sentinel) process of ours. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** The PID of the running process (changes with `restart`). */
  readonly pid: number;
  /** SIGSTOP: the process holds its connections open and answers nothing. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  readonly frozen: boolean;
  /** SIGKILL, as a crash: connections drop, nothing is saved. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (after `kill`). */
  restart(): Promise<void>;
  readonly alive: boolean;
}

const running = new Set<ChildProcess>();
const directories = new Set<string>();
let exitHook = false;

/**
 * No server outlives the process that started it, nor does its directory, even when a
 * test run is cut short.
 */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const path of directories) rmSync(path, { recursive: true, force: true });
  });
}

/**
 * Starts `redis-server` (or `redis-server <config> --sentinel` with `sentinelConfig`) on
 * `port`, with `args` after the defaults (no persistence, 127.0.0.1, diskless replication
 * that starts at once), and waits until it answers PING.
 */
export async function startRedisProcess(options: {
  port: number;
  dir: string;
  args?: readonly string[];
  /** Path of a sentinel configuration file: the process is a sentinel. */
  sentinelConfig?: string;
}): Promise<RedisProcess> {
  installExitHook();
  const { port, dir } = options;
  let child: ChildProcess | undefined;
  let frozen = false;
  const argv =
    options.sentinelConfig === undefined
      ? [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--repl-diskless-sync',
          'yes',
          '--repl-diskless-sync-delay',
          '0',
          '--logfile',
          join(dir, `redis-${port}.log`),
          ...(options.args ?? []),
        ]
      : [options.sentinelConfig, '--sentinel', ...(options.args ?? [])];

  async function start(): Promise<void> {
    const spawned = spawn('redis-server', argv, { stdio: 'ignore' });
    child = spawned;
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    spawned.once('error', () => {});
    // A server that exits while starting (most often: another process took its port, or
    // its cluster bus port, between the pick and the bind) is told at once, not waited for.
    let onExit = () => {};
    const exited = new Promise<never>((_, reject) => {
      onExit = () => reject(new ExitedWhileStartingError(port));
      spawned.once('exit', onExit);
    });
    exited.catch(() => {});
    try {
      await Promise.race([
        waitFor(
          `redis-server on port ${port}`,
          async () => (await command(port, ['PING'], 200)) === 'PONG',
          // Many servers start at once on a loaded 2-core machine (the failover tests).
          15_000,
          10,
        ),
        exited,
      ]);
    } finally {
      spawned.off('exit', onExit);
    }
    if (spawned.exitCode !== null) throw new ExitedWhileStartingError(port);
  }

  async function kill(): Promise<void> {
    const target = child;
    child = undefined;
    frozen = false;
    if (target === undefined || target.exitCode !== null || target.signalCode !== null) return;
    const exited = new Promise((resolve) => target.once('exit', resolve));
    target.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    freeze() {
      if (child?.pid === undefined) throw new Error(`redis :${port} is not running`);
      process.kill(child.pid, 'SIGSTOP');
      frozen = true;
    },
    thaw() {
      if (child?.pid === undefined) return;
      process.kill(child.pid, 'SIGCONT');
      frozen = false;
    },
    get frozen() {
      return frozen;
    },
    kill,
    async restart() {
      await kill();
      await start();
    },
    get alive() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
  };
}

/** A temporary directory for a group of servers, and how to remove it. */
export function temporaryDirectory(label: string): { path: string; remove(): void } {
  installExitHook();
  const path = mkdtempSync(join(tmpdir(), `tokenfetch-${label}-`));
  directories.add(path);
  return {
    path,
    remove() {
      directories.delete(path);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const workerPath = fileURLToPath(new URL('../fixtures/fleet-worker.mjs', import.meta.url));
const builtFiles = ['../../dist/index.js', '../../../core/dist/index.js'].map((path) =>
  fileURLToPath(new URL(path, import.meta.url)),
);

export type Library = 'ioredis' | 'node-redis';

/** What a worker needs to build its client and store. */
export interface WorkerSetup {
  baseUrl: string;
  redisUrl: string;
  prefix: string;
  email: string;
  password: string;
  lockTtlMs?: number;
  commandTimeoutMs?: number;
  loginCooldownMs?: number;
  encryptionKey?: string;
}

/** How `count` calls ended: HTTP status or error code → how many. */
export interface CallsResult {
  tally: Record<string, number>;
  durationMs: number;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** One instance of the fleet: a child process driven over IPC. */
export class FleetWorker {
  readonly library: Library;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  readonly started: Promise<void>;

  constructor(library: Library) {
    this.library = library;
    this.#child = fork(workerPath, [library], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let ready: () => void = () => {};
    this.started = new Promise((resolve) => (ready = resolve));
    this.#child.on('message', (reply: Reply) => {
      if (reply.id === 0) return ready();
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`worker ${this.pid}: ${reply.error}`));
    });
    this.#child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) {
        waiter.reject(new Error(`worker ${this.pid} exited (${signal ?? code})`));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  #send<T>(command: string, args?: unknown): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, command, args });
    });
  }

  setup(args: WorkerSetup): Promise<unknown> {
    return this.#send('setup', args);
  }

  /**
   * Makes a fresh Redis client without waiting for its connection and starts `count` calls
   * in the same tick, as a service does when it starts.
   */
  coldStart(
    args: WorkerSetup & { count: number },
  ): Promise<CallsResult & { readyAtFirstStoreCall: boolean }> {
    return this.#send('coldStart', args);
  }

  calls(count: number): Promise<CallsResult> {
    return this.#send('calls', { count });
  }

  /** Event counts since the last read, keyed `type:source|operation|code`. */
  events(): Promise<Record<string, number>> {
    return this.#send('events');
  }

  /** Resolves once the worker's Redis connection is (or is not) ready. */
  connection(ready: boolean): Promise<unknown> {
    return this.#send('connection', { ready });
  }

  teardown(): Promise<unknown> {
    return this.#send('teardown');
  }

  /** Ends the process at once, as a crash would. */
  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts `size` workers, alternating ioredis and node-redis. The workers run the built
 * packages (`pnpm build`, which `pnpm test` runs first).
 */
export async function startFleet(size: number): Promise<FleetWorker[]> {
  for (const file of builtFiles) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first`);
  }
  const redisBuilt = statSync(builtFiles[0] ?? '').mtimeMs;
  const redisSource = statSync(
    fileURLToPath(new URL('../../src/redis-token-store.ts', import.meta.url)),
  );
  if (redisSource.mtimeMs > redisBuilt) {
    console.warn('!!! packages/redis/dist is older than its sources: run `pnpm build`');
  }
  const fleet = Array.from(
    { length: size },
    (_, index) => new FleetWorker(index % 2 === 0 ? 'ioredis' : 'node-redis'),
  );
  await Promise.all(fleet.map((worker) => worker.started));
  return fleet;
}

/** Adds up the tallies of several workers. */
export function total(results: readonly CallsResult[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const { tally } of results) {
    for (const [outcome, count] of Object.entries(tally))
      sum[outcome] = (sum[outcome] ?? 0) + count;
  }
  return sum;
}

/** Adds up event counts of several workers. */
export function totalEvents(all: readonly Record<string, number>[]): Record<string, number> {
  return total(all.map((tally) => ({ tally, durationMs: 0 })));
}

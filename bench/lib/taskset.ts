import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The two sides of the machine: the code under test on one core, the rest on the other. */
export const cores = availableParallelism() >= 2 ? { app: '0', upstream: '1' } : undefined;

/** Whether `taskset` is usable here (Linux with util-linux). */
export const canPin = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return cores !== undefined;
  } catch {
    return false;
  }
})();

/** Pins every thread of a running process to `cpus` (a `taskset -c` list); no-op without taskset. */
export function pin(pid: number, cpus: string | undefined): void {
  if (!canPin || cpus === undefined) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}

export interface NodeChild {
  child: ChildProcess;
  pid: number;
  /** The `ready` message the child sent. */
  ready: Record<string, unknown>;
  /** Sends a request over IPC and waits for the reply with the same id. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

let nextId = 1;

/**
 * Starts `file` (TypeScript, run by tsx; a `.mjs` file runs as it is) in a Node child pinned
 * to `cpus`, with an IPC channel, and waits for its `{ type: 'ready' }` message (at most
 * `timeoutMs`).
 */
export async function startNode(
  file: URL,
  options: { cpus?: string | undefined; env?: Record<string, string>; nodeArgs?: string[] } = {},
  timeoutMs = 20_000,
): Promise<NodeChild> {
  installExitHook();
  const loader = file.pathname.endsWith('.mjs') ? [] : ['--import', 'tsx'];
  const args = [...(options.nodeArgs ?? []), ...loader, fileURLToPath(file)];
  const pinned = canPin && options.cpus !== undefined;
  const child = pinned
    ? spawn('taskset', ['-c', options.cpus!, process.execPath, ...args], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, ...options.env },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      })
    : spawn(process.execPath, args, {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, ...options.env },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file.pathname} did not start`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file.pathname} exited with ${code} before it was ready`));
    });
    child.on('message', (message: Record<string, unknown>) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
        return;
      }
      const waiter = pending.get(message.id as number);
      if (waiter === undefined) return;
      pending.delete(message.id as number);
      if (message.error !== undefined) waiter.reject(new Error(String(message.error)));
      else waiter.resolve(message.result);
    });
  });
  child.once('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('child exited'));
    pending.clear();
  });
  // taskset execs node in place, so the pid is node's.
  const pid = child.pid!;
  return {
    child,
    pid,
    ready,
    call<T>(method: string, ...callArgs: unknown[]) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, method, args: callArgs });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In a child started by `startNode`: answers IPC calls with `handlers`, then says ready. */
export function serveIpc(
  handlers: Record<string, (...args: never[]) => unknown>,
  ready: Record<string, unknown>,
): void {
  process.on('message', (message: { id: number; method: string; args: never[] }) => {
    const handler = handlers[message.method];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown method ${message.method}`);
        return handler(...message.args);
      })
      .then(
        (result) => process.send?.({ id: message.id, result }),
        (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
      );
  });
  // The parent went away: leave with it.
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  process.send?.({ type: 'ready', ...ready });
}

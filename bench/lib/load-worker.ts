import type { ContenderName } from '../contenders/index.js';
import { cores, startNode, type NodeChild } from './taskset.js';

export interface Tally {
  calls: number;
  settled: number;
  failed: number;
  /** Calls still pending when the time limit hit (counted in `failed`). */
  unfinished: number;
  /** Why calls failed: `HTTP 403`, an error code or name → count. */
  reasons: Record<string, number>;
  /** Unhandled rejections in the worker process so far. */
  unhandled: number;
}

export interface BurstResult extends Tally {
  lastSuccessMs: number;
}

export interface RunResult extends Tally {
  heapStart: number;
  heapEnd: number;
}

/** A contender in its own process on the app core (apps/load-worker.ts). */
export interface LoadWorker {
  name: string;
  pid: number;
  burst(calls: number, limitMs: number): Promise<BurstResult>;
  run(workers: number, durationMs: number, maxCalls: number): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startLoadWorker(
  name: ContenderName,
  baseUrl: string,
  env: Record<string, string> = {},
): Promise<LoadWorker> {
  const child: NodeChild = await startNode(new URL('../apps/load-worker.ts', import.meta.url), {
    cpus: cores?.app,
    env: { CONTENDER: name, BASE_URL: baseUrl, ...env },
    nodeArgs: ['--expose-gc'],
  });
  return {
    name,
    pid: child.pid,
    burst: (calls, limitMs) => child.call('burst', calls, limitMs),
    run: (workers, durationMs, maxCalls) => child.call('run', workers, durationMs, maxCalls),
    async stop() {
      await child.call('close').catch(() => undefined);
      await child.stop();
    },
  };
}

/** `HTTP 403 ×3, E_LOGIN_FAILED ×1`, or `–`. */
export function formatReasons(reasons: Record<string, number>): string {
  const entries = Object.entries(reasons).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '–' : entries.map(([why, n]) => `${why} ×${n}`).join(', ');
}

/** Adds up several `reasons` tallies. */
export function mergeReasons(list: Array<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const reasons of list) {
    for (const [why, n] of Object.entries(reasons)) merged[why] = (merged[why] ?? 0) + n;
  }
  return merged;
}

import { startNode, type NodeChild } from './taskset.js';

/** Where an instance's store lives. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; rootNodes: ReadonlyArray<{ host: string; port: number }> };

/** What an instance's event looked like (apps/fleet-instance.mjs keeps these fields only). */
export interface InstanceEvent {
  type: string;
  at: number;
  source?: 'login' | 'store';
  operation?: string;
  code?: string;
  background?: boolean;
  expiresAt?: number;
}

/** One instance's run. */
export interface InstanceRun {
  calls: number;
  failed: number;
  reasons: Record<string, number>;
  /** The first 1,000 failed calls: when, and why. */
  failures: Array<{ at: number; why: string }>;
  getTokenMs: number[];
  fetchMs: number[];
  loopDelayMs: { p99: number; max: number };
  events: InstanceEvent[];
}

/** One instance of the fleet: apps/fleet-instance.mjs in a process of its own. */
export interface FleetInstance {
  pid: number;
  setup(options: {
    baseUrl: string;
    email: string;
    password: string;
    orgId: number;
    redis: RedisTarget;
    prefix: string;
  }): Promise<unknown>;
  run(options: { startAt: number; durationMs: number; intervalMs: number }): Promise<InstanceRun>;
  teardown(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts `size` instances, `batch` at a time (each start costs ~0.1 s of CPU). */
export async function startFleet(size: number, batch = 8): Promise<FleetInstance[]> {
  const fleet: FleetInstance[] = [];
  const file = new URL('../apps/fleet-instance.mjs', import.meta.url);
  for (let first = 0; first < size; first += batch) {
    const started = await Promise.all(
      Array.from({ length: Math.min(batch, size - first) }, () => startNode(file, {}, 60_000)),
    );
    fleet.push(...started.map(instanceOf));
  }
  return fleet;
}

function instanceOf(child: NodeChild): FleetInstance {
  return {
    pid: child.pid,
    setup: (options) => child.call('setup', options),
    run: (options) => child.call('run', options),
    teardown: () => child.call('teardown'),
    stop: () => child.stop(),
  };
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Logins at the upstream (`login` events from a login, not from the store), by time. */
export function loginTimes(runs: readonly InstanceRun[]): number[] {
  return runs
    .flatMap((run) => run.events)
    .filter((event) => event.type === 'login' && event.source === 'login')
    .map((event) => event.at)
    .sort((a, b) => a - b);
}

/** How many of `times` fall in [from, to). */
export function within(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

/**
 * The earliest moment from which every window of `windowMs` (stepped by 100 ms, inside
 * [from, end]) holds at most `calm` logins, or undefined if none does.
 */
export function calmAgainAt(
  times: readonly number[],
  from: number,
  end: number,
  windowMs: number,
  calm: number,
): number | undefined {
  let earliest: number | undefined;
  for (let start = end - windowMs; start >= from; start -= 100) {
    if (within(times, start, start + windowMs) > calm) break;
    earliest = start;
  }
  return earliest;
}

/**
 * For each instance, the end of the usable life of the token it held when `at` came (the
 * last `login` event before it, from a login or from the store), or undefined.
 */
export function heldUntil(run: InstanceRun, at: number): number | undefined {
  let until: number | undefined;
  for (const event of run.events) {
    if (event.type !== 'login' || event.at > at || event.expiresAt === undefined) continue;
    // The engine stops sending a token a second before it expires (lastUsableMoment).
    until = event.expiresAt - 1_000;
  }
  return until;
}

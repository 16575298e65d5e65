import autocannon from 'autocannon';
import { cpuMicros } from './proc.js';
import { median } from './stats.js';
import { startNode, type NodeChild } from './taskset.js';

/** An app process under load: its URL and pid (for /proc). */
export interface App {
  name: string;
  url: string;
  pid: number;
  process: NodeChild;
}

export async function startApp(
  name: string,
  file: URL,
  cpus: string | undefined,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<App> {
  const child = await startNode(file, { cpus, env, nodeArgs });
  return { name, url: child.ready.url as string, pid: child.pid, process: child };
}

export interface LoadResult {
  /** Mean requests per second over the run. */
  rps: number;
  /** 99th percentile latency, ms (autocannon's resolution: 1 ms). */
  p99: number;
  /** Requests answered. */
  completed: number;
  /** Answers that were not 2xx, plus errors and timeouts. */
  bad: number;
}

export const connections = 32;

/**
 * autocannon against `url` for `seconds`, or for `amount` requests but at most
 * `maxSeconds` (the rest is cut off, so a slow machine cannot stretch the bench).
 */
export async function load(
  url: string,
  options: { seconds?: number; amount?: number; maxSeconds?: number; connections?: number },
): Promise<LoadResult> {
  const instance = autocannon({
    url,
    connections: options.connections ?? connections,
    pipelining: 1,
    timeout: 10,
    ...(options.amount === undefined
      ? { duration: options.seconds ?? 3 }
      : { amount: options.amount }),
  });
  const cap =
    options.maxSeconds === undefined
      ? undefined
      : setTimeout(() => instance.stop(), options.maxSeconds * 1000);
  const result = await instance;
  clearTimeout(cap);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    completed: result.requests.total,
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

/** Optimizes an app's hot code: `requests` requests, at most `maxSeconds`. */
export async function warmUp(app: App, requests = 5_000, maxSeconds = 10): Promise<void> {
  await load(app.url, { amount: requests, maxSeconds });
}

/** One round of a paired CPU measurement: both apps loaded at the same time. */
export interface PairRound {
  /** CPU time per request, µs, of each app. */
  cpuA: number;
  cpuB: number;
  rpsA: number;
  rpsB: number;
  bad: number;
}

/**
 * The steady figure on a shared machine (bench/README.md, "Method"): both apps of a pair pinned
 * to the same core, loaded at the same time; each app's CPU time (user+sys from
 * /proc/PID/stat) divided by the requests it answered. The pairs take turns round by
 * round, so a change in the machine's other load spreads over all of them: `warmups`
 * rounds first, then `rounds` measured. Returns the measured rounds of each pair.
 */
export async function measurePairs(
  pairs: ReadonlyArray<readonly [App, App]>,
  options: { warmups: number; rounds: number; seconds: number },
): Promise<PairRound[][]> {
  const measured: PairRound[][] = pairs.map(() => []);
  for (let i = 0; i < options.warmups + options.rounds; i++) {
    for (const [index, [a, b]] of pairs.entries()) {
      const beforeA = cpuMicros(a.pid);
      const beforeB = cpuMicros(b.pid);
      const [ra, rb] = await Promise.all([
        load(a.url, { seconds: options.seconds }),
        load(b.url, { seconds: options.seconds }),
      ]);
      const usedA = cpuMicros(a.pid) - beforeA;
      const usedB = cpuMicros(b.pid) - beforeB;
      if (i < options.warmups) continue;
      measured[index]!.push({
        cpuA: usedA / Math.max(1, ra.completed),
        cpuB: usedB / Math.max(1, rb.completed),
        rpsA: ra.rps,
        rpsB: rb.rps,
        bad: ra.bad + rb.bad,
      });
    }
  }
  return measured;
}

/** Medians of a paired measurement; `ratio` = A's CPU per request ÷ B's (lower is better). */
export function summarizePair(rounds: PairRound[]): {
  cpuA: number;
  cpuB: number;
  ratio: number;
  ratios: number[];
  bad: number;
} {
  const ratios = rounds.map((r) => r.cpuA / r.cpuB);
  return {
    cpuA: median(rounds.map((r) => r.cpuA)),
    cpuB: median(rounds.map((r) => r.cpuB)),
    ratio: median(ratios),
    ratios,
    bad: rounds.reduce((sum, r) => sum + r.bad, 0),
  };
}

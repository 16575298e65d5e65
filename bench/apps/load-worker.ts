/**
 * One contender in its own process, driven over IPC by scenarios 3–7 (so unhandled
 * rejections and heap belong to that contender alone). CONTENDER and BASE_URL pick it;
 * STORE=redis gives tokenfetch a RedisTokenStore (REDIS_URL, REDIS_PREFIX).
 */
import { Redis } from 'ioredis';
import { createApiClient } from '@tokenfetch/core';
import { RedisTokenStore } from '@tokenfetch/redis';
import {
  contenders,
  failed,
  type ContenderClient,
  type ContenderName,
} from '../contenders/index.js';
import { serveIpc } from '../lib/taskset.js';
import { credentials } from './credentials.js';
import { heapAfterGc } from './heap.js';

const name = process.env.CONTENDER as ContenderName;
const baseUrl = process.env.BASE_URL!;
let unhandled = 0;
process.on('unhandledRejection', () => {
  unhandled++;
});

let redis: Redis | undefined;
let client: ContenderClient;
if (process.env.STORE === 'redis') {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    maxRetriesPerRequest: 1,
  });
  const store = new RedisTokenStore({ redis, prefix: process.env.REDIS_PREFIX ?? 'bench' });
  const api = createApiClient({ baseUrl, auth: credentials, store });
  client = {
    async fetch(path) {
      const response = await api.fetch(path);
      return { status: response.status, body: await response.text() };
    },
    close: () => api.close(),
  };
} else {
  const contender = contenders[name];
  if (contender === undefined) throw new Error(`unknown CONTENDER ${name}`);
  client = await contender.create(baseUrl, credentials);
}

/** A short reason for a failed call, to show in the tables. */
function reason(outcome: { status: number } | undefined, error: unknown): string {
  if (outcome !== undefined) return `HTTP ${outcome.status}`;
  if (error instanceof Error) return (error as { code?: string }).code ?? error.name;
  return 'error';
}

interface Tally {
  /** Calls started. */
  calls: number;
  /** Calls that have ended, either way. */
  settled: number;
  failed: number;
  reasons: Record<string, number>;
}

async function one(path: string, tally: Tally): Promise<boolean> {
  tally.calls++;
  let outcome;
  try {
    outcome = await client.fetch(path);
  } catch (error) {
    tally.settled++;
    tally.failed++;
    const why = reason(undefined, error);
    tally.reasons[why] = (tally.reasons[why] ?? 0) + 1;
    return false;
  }
  tally.settled++;
  if (failed(outcome)) {
    tally.failed++;
    const why = reason(outcome, undefined);
    tally.reasons[why] = (tally.reasons[why] ?? 0) + 1;
    return false;
  }
  return true;
}

serveIpc(
  {
    /** `calls` calls at once; when the last one succeeded (ms after the start). */
    async burst(calls: number, limitMs: number) {
      const tally: Tally = { calls: 0, settled: 0, failed: 0, reasons: {} };
      const t0 = performance.now();
      let lastSuccessMs = Number.NaN;
      const all = Promise.all(
        Array.from({ length: calls }, (_, i) =>
          one(`/items/${i}`, tally).then((ok) => {
            if (ok) lastSuccessMs = performance.now() - t0;
          }),
        ),
      );
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        all.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), limitMs);
        }),
      ]);
      clearTimeout(timer);
      // Calls still pending at the limit count as failed.
      const unfinished = finished ? 0 : calls - tally.settled;
      return { ...tally, failed: tally.failed + unfinished, unfinished, lastSuccessMs, unhandled };
    },
    /** `workers` loops of calls for `durationMs` (and at most `maxCalls` in all). */
    async run(workers: number, durationMs: number, maxCalls: number) {
      const tally: Tally = { calls: 0, settled: 0, failed: 0, reasons: {} };
      const heapStart = heapAfterGc();
      const end = performance.now() + durationMs;
      let path = 0;
      const loops = Promise.all(
        Array.from({ length: workers }, async () => {
          while (performance.now() < end && tally.calls < maxCalls) {
            await one(`/items/${path++ % 1000}`, tally);
          }
        }),
      );
      // A call that never ends must not hold the bench: give up 35 s after the end.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        loops,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, durationMs + 35_000);
        }),
      ]);
      clearTimeout(timer);
      const unfinished = tally.calls - tally.settled;
      return {
        ...tally,
        failed: tally.failed + unfinished,
        unfinished,
        unhandled,
        heapStart,
        heapEnd: heapAfterGc(),
      };
    },
    async close() {
      await client.close();
      redis?.disconnect();
    },
  },
  {},
);

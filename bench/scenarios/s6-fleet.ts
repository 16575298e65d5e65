import { Redis } from 'ioredis';
import { startLoadWorker, type LoadWorker, type RunResult } from '../lib/load-worker.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const instances = 4;
const workers = 4;
const tokenTtlMs = 3000;
const lifetimes = 3;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Scenario 6: 4 processes sharing one set of credentials, memory store vs Redis store. */
export const fleet: Scenario = {
  id: 6,
  title: 'Fleet',
  async run({ quick, log, verdict }) {
    pin(process.pid, cores?.upstream);
    const durationMs = (quick ? 1 : lifetimes) * tokenTtlMs;
    const stores: Array<'memory' | 'redis'> = (await redisReachable())
      ? ['memory', 'redis']
      : ['memory'];
    const rows: string[][] = [];
    const logins = new Map<string, number>();
    const mock = await startRemoteMock({ tokenTtlMs, announceTtl: true });
    try {
      for (const store of stores) {
        const prefix = `tokenfetch-bench-${process.pid}-${Date.now()}`;
        const fleetWorkers: LoadWorker[] = [];
        try {
          for (let i = 0; i < instances; i++) {
            fleetWorkers.push(
              await startLoadWorker('tokenfetch', mock.baseUrl, {
                STORE: store,
                REDIS_URL: redisUrl,
                REDIS_PREFIX: prefix,
              }),
            );
          }
          await mock.resetStats();
          const results: RunResult[] = await Promise.all(
            fleetWorkers.map((w) => w.run(workers, durationMs, 2_000_000)),
          );
          const stats = await mock.stats();
          const calls = results.reduce((sum, r) => sum + r.calls, 0);
          const failed = results.reduce((sum, r) => sum + r.failed, 0);
          log(`${store}: ${stats.successfulLogins} logins, ${failed} failed of ${calls}`);
          logins.set(store, stats.successfulLogins);
          rows.push([
            store === 'memory' ? 'MemoryTokenStore (default)' : 'RedisTokenStore (ioredis)',
            String(stats.successfulLogins),
            (stats.successfulLogins / (durationMs / tokenTtlMs)).toFixed(1),
            count(calls),
            count(stats.rejectedCalls),
            count(failed),
          ]);
        } finally {
          await Promise.all(fleetWorkers.map((w) => w.stop()));
        }
        if (store === 'redis') {
          const redis = new Redis(redisUrl);
          const keys = await redis.keys(`{${prefix}:*`);
          if (keys.length > 0) await redis.del(...keys);
          redis.disconnect();
        }
      }
    } finally {
      await mock.close();
    }
    const memory = logins.get('memory');
    const redis = logins.get('redis');
    if (memory !== undefined && redis !== undefined) {
      verdict({
        scenario: 6,
        figure: `fleet: logins with RedisTokenStore vs MemoryTokenStore (${instances} processes)`,
        value: `${redis} vs ${memory}`,
        target: `≈ 1/${instances}`,
        met: redis * 2 <= memory,
      });
    }
    return [
      {
        title: `6. Fleet (${instances} processes × ${workers} concurrent callers, tokenfetch; tokens live ${tokenTtlMs / 1000} s, announced; ${durationMs / 1000} s = ${durationMs / tokenTtlMs} lifetimes)`,
        header: [
          'store',
          'logins',
          'logins per lifetime',
          'calls',
          '403s at upstream',
          'failed calls',
        ],
        rows,
        notes: [
          ...(stores.includes('redis')
            ? []
            : [`Redis not reachable at ${redisUrl}: RedisTokenStore not measured.`]),
          "A client logs in again well before expiry (refresh-ahead in the last third of a token's usable life), so each holder needs about two logins per 3-second lifetime.",
        ],
      },
    ];
  },
};

import {
  call,
  freePort,
  info,
  startRedisProcess,
  temporaryDirectory,
} from '../../packages/redis/test/helpers/redis-process.js';
import { formatReasons, mergeReasons } from '../lib/load-worker.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed } from '../lib/stats.js';
import { startNode, type NodeChild } from '../lib/taskset.js';

const email = 'tenants@bench.test';
const password = 'bench-password';
const processes = 4;
const cycles = 2;
const concurrency = 25;

interface CycleResult {
  calls: number;
  failed: number;
  reasons: Record<string, number>;
  seconds: number;
  size: number;
  storeErrors: number;
}

/** EVAL calls the server has counted since its stats were reset. */
async function evalCalls(port: number): Promise<number> {
  const stats = String(await call(port, ['INFO', 'commandstats']));
  return Number(/^cmdstat_eval:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

/** Mean `MEMORY USAGE` of up to `sample` keys matching `pattern`, in bytes. */
async function meanKeyBytes(port: number, pattern: string, sample: number): Promise<number> {
  const keys = (await call(port, ['KEYS', pattern])) as string[];
  const picked = keys.slice(0, sample);
  let total = 0;
  for (const key of picked) {
    total += Number(await call(port, ['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
  }
  return picked.length === 0 ? Number.NaN : total / picked.length;
}

/**
 * Scenario 11: many tenants over one Redis store. 4 processes, each with one
 * `createClientPool` on one `RedisTokenStore`, call every tenant (one org each) in an order
 * of their own, twice: logins per tenant (1 is the fleet sharing), Redis `EVAL` per call
 * (INFO commandstats of a private redis-server), Redis memory per tenant, with `maxClients`
 * above and below the number of tenants (below, every call meets a client the pool evicted
 * and builds it again).
 */
export const tenantsOverRedis: Scenario = {
  id: 11,
  title: 'Many tenants over Redis: 4 processes, one pool each, one store',
  async run({ quick, log, verdict }) {
    const tenants = quick ? 2_000 : 10_000;
    const settings = [
      { label: 'above', maxClients: tenants + Math.max(1_000, tenants / 5) },
      { label: 'below', maxClients: tenants / 10 },
    ];
    const rows: string[][] = [];
    const orgs = Array.from({ length: tenants }, (_, i) => i + 1);
    for (const { label, maxClients } of settings) {
      const dir = temporaryDirectory('tenants');
      const redis = await startRedisProcess({ port: await freePort(), dir: dir.path });
      const mock = await startRemoteMock({ users: [{ email, password, orgs, id: 1 }] });
      const workers: NodeChild[] = [];
      try {
        for (let i = 0; i < processes; i++) {
          workers.push(await startNode(new URL('../apps/tenant-pool.mjs', import.meta.url)));
        }
        const prefix = `bench-tenants-${process.pid}`;
        await Promise.all(
          workers.map((worker) =>
            worker.call('setup', {
              baseUrl: mock.baseUrl,
              email,
              password,
              redisUrl: redis.url,
              prefix,
              maxClients,
            }),
          ),
        );
        const memoryBefore = Number((await info(redis.port, 'memory')).get('used_memory'));
        await call(redis.port, ['CONFIG', 'RESETSTAT']);
        const perCycle: Array<{ evals: number; calls: number; seconds: number; failed: number }> =
          [];
        const reasons: Array<Record<string, number>> = [];
        let memoryPerTenant = Number.NaN;
        let size = 0;
        let storeErrors = 0;
        for (let cycle = 0; cycle < cycles; cycle++) {
          const evalsBefore = await evalCalls(redis.port);
          const t0 = performance.now();
          const results = await Promise.all(
            workers.map((worker, i) =>
              worker.call<CycleResult>('cycle', {
                tenants,
                seed: (cycle + 1) * 1000 + i,
                concurrency,
              }),
            ),
          );
          const seconds = (performance.now() - t0) / 1000;
          const evals = (await evalCalls(redis.port)) - evalsBefore;
          const calls = results.reduce((sum, r) => sum + r.calls, 0);
          const failed = results.reduce((sum, r) => sum + r.failed, 0);
          reasons.push(...results.map((r) => r.reasons));
          size = Math.max(...results.map((r) => r.size));
          storeErrors = results.reduce((sum, r) => sum + r.storeErrors, 0);
          perCycle.push({ evals, calls, seconds, failed });
          if (cycle === 0) {
            const memoryAfter = Number((await info(redis.port, 'memory')).get('used_memory'));
            memoryPerTenant = (memoryAfter - memoryBefore) / tenants;
          }
          log(
            `maxClients ${count(maxClients)}, cycle ${cycle + 1}: ${count(calls)} calls in ${fixed(seconds, 1)} s, ` +
              `${count(evals)} EVAL (${fixed(evals / calls, 3)} per call), ${failed} failed`,
          );
        }
        const stats = await mock.stats();
        const tokenBytes = await meanKeyBytes(redis.port, `{${prefix}:*}:token`, 200);
        const genBytes = await meanKeyBytes(redis.port, `{${prefix}:*}:gen`, 200);
        const keys = Number(await call(redis.port, ['DBSIZE']));
        const evals = perCycle.reduce((sum, c) => sum + c.evals, 0);
        const calls = perCycle.reduce((sum, c) => sum + c.calls, 0);
        const failed = perCycle.reduce((sum, c) => sum + c.failed, 0);
        const loginsPerTenant = stats.successfulLogins / tenants;
        rows.push([
          `${count(maxClients)} (${label} ${count(tenants)})`,
          fixed(loginsPerTenant, 3),
          perCycle.map((c) => fixed(c.evals / c.calls, 3)).join(' / '),
          fixed(evals / calls, 3),
          `${count(failed)} of ${count(calls)}${failed > 0 ? ` (${formatReasons(mergeReasons(reasons))})` : ''}`,
          String(storeErrors),
          count(size),
          `${count(memoryPerTenant)} (${count(keys)} keys)`,
          `${count(tokenBytes)} + ${count(genBytes)}`,
          perCycle.map((c) => fixed(c.seconds, 1)).join(' / '),
        ]);
        verdict({
          scenario: 11,
          figure: `${count(tenants)} tenants, maxClients ${count(maxClients)}: logins per tenant`,
          value: fixed(loginsPerTenant, 3),
          target: '1',
          met: stats.successfulLogins === tenants,
        });
        verdict({
          scenario: 11,
          figure: `${count(tenants)} tenants, maxClients ${count(maxClients)}: Redis EVAL per call`,
          value: fixed(evals / calls, 3),
          target: '≤ 1.1',
          met: evals / calls <= 1.1,
        });
      } finally {
        await Promise.all(workers.map((worker) => worker.call('teardown').catch(() => undefined)));
        await Promise.all(workers.map((worker) => worker.stop()));
        await mock.close();
        await redis.kill();
        dir.remove();
      }
    }
    return [
      {
        title: `11. ${count(tenants)} tenants (one org each) over one RedisTokenStore: ${processes} processes, each with one createClientPool, call every tenant once per cycle (${cycles} cycles, each process in an order of its own, ${concurrency} calls at a time per process)`,
        header: [
          'maxClients',
          'logins per tenant',
          'EVAL per call, by cycle',
          'EVAL per call',
          'failed calls',
          'store errors',
          'clients in a pool at the end',
          'Redis bytes per tenant (used_memory growth, cycle 1)',
          'MEMORY USAGE :token + :gen, bytes',
          'seconds per cycle',
        ],
        rows,
        notes: [
          "Redis is a private redis-server (so that INFO commandstats and used_memory count this scenario alone); the store keeps one `:token` hash and one `:gen` counter per tenant once its lock is released. Tokens are the mock's (43 characters), stored as plain JSON (no encryptionKeys).",
          "The first cycle logs every tenant in (one process logs in, the others read its token, or wait on its lock, polling every ~100 ms); in the second, a pool that kept every client sends Redis nothing, and one that evicted them rebuilds its clients, which take each tenant's token from what the process remembers of the tokens it has seen (core's bounded memory in front of a shared store), not from Redis.",
        ],
      },
    ];
  },
};

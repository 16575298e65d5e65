// One process of scenario 11: a service serving many tenants through one client pool whose
// store is a RedisTokenStore on ioredis (its defaults, as the Redis README sets it up).
// Plain JavaScript on the built packages; driven over IPC with lib/taskset.ts's protocol.
import { createClientPool } from '@tokenfetch/core';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';

let current;

async function setup({ baseUrl, email, password, redisUrl, prefix, maxClients }) {
  await teardown();
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  await new Promise((resolve) => redis.once('ready', resolve));
  let storeErrors = 0;
  const pool = createClientPool({
    baseUrl,
    maxClients,
    store: new RedisTokenStore({ redis, prefix }),
    onEvent: (event) => {
      if (event.type === 'store_error') storeErrors++;
    },
    resolve: (tenant) => ({ auth: { email, password, orgId: Number(tenant) } }),
  });
  current = { redis, pool, storeErrors: () => storeErrors };
  return { pid: process.pid };
}

async function teardown() {
  if (current === undefined) return;
  const { pool, redis } = current;
  current = undefined;
  await pool.close();
  redis.disconnect();
}

/** A permutation of 1..count, the same for the same seed (each process its own order). */
function shuffled(count, seed) {
  const order = Array.from({ length: count }, (_, i) => i + 1);
  let state = seed >>> 0 || 1;
  for (let i = order.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** One call for each of `tenants` tenants, in this process's order, `concurrency` at a time. */
async function cycle({ tenants, seed, concurrency }) {
  const order = shuffled(tenants, seed);
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const reasons = {};
  const fail = (why) => {
    failed++;
    reasons[why] = (reasons[why] ?? 0) + 1;
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < order.length) {
        const tenant = String(order[next++]);
        try {
          const response = await current.pool.client(tenant).fetch('/items/1');
          await response.arrayBuffer();
          if (!response.ok) fail(`HTTP ${response.status}`);
        } catch (error) {
          fail(error?.code ?? error?.name ?? 'error');
        }
      }
    }),
  );
  return {
    calls: order.length,
    failed,
    reasons,
    seconds: (performance.now() - started) / 1000,
    size: current.pool.size,
    storeErrors: current.storeErrors(),
  };
}

const handlers = { setup, cycle, teardown };

process.on('message', (message) => {
  const handler = handlers[message.method];
  Promise.resolve()
    .then(() => handler(...(message.args ?? [])))
    .then(
      (result) => process.send({ id: message.id, result }),
      (error) => process.send({ id: message.id, error: String(error?.message ?? error) }),
    );
});
process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
process.send({ type: 'ready', pid: process.pid });

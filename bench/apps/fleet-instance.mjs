// One instance of scenario 10's fleet, in a process of its own: a tokenfetch client whose
// store is a RedisTokenStore on an ioredis `Redis` or `Cluster` made as the Redis README
// makes them (their defaults), calling the mock upstream at a steady pace. Plain JavaScript
// on the built packages, so that a hundred of these start quickly; driven over IPC with
// the protocol of lib/taskset.ts (`ready`, then `{ id, method, args }` → `{ id, result }`).
import { createApiClient } from '@tokenfetch/core';
import { RedisTokenStore } from '@tokenfetch/redis';
import { Cluster, Redis } from 'ioredis';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

let current;

/** Connects to this run's Redis and builds the client; resolves once Redis is ready. */
async function setup({ baseUrl, email, password, orgId, redis: target, prefix }) {
  await teardown();
  const redis = target.kind === 'cluster' ? new Cluster(target.rootNodes) : new Redis(target.url);
  redis.on('error', () => {});
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis never became ready')), 20_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const events = [];
  const client = createApiClient({
    baseUrl,
    auth: { email, password, orgId },
    store: new RedisTokenStore({ redis, prefix }),
    onEvent: (event) => events.push({ ...event, at: Date.now() }),
  });
  current = { redis, client, events };
  // Warm: the run starts from a fleet that shares a token, not from a cold start.
  await client.getToken().catch(() => {});
  return { pid: process.pid };
}

async function teardown() {
  if (current === undefined) return;
  const { client, redis } = current;
  current = undefined;
  await client.close();
  redis.disconnect();
}

/**
 * From `startAt` (epoch ms) for `durationMs`: one `getToken()` then one `fetch()`, every
 * `intervalMs` (the first after a random part of it, so that the fleet does not beat in
 * step). Returns what happened, never a token.
 */
async function run({ startAt, durationMs, intervalMs }) {
  const { client, events } = current;
  events.length = 0;
  await sleep(Math.max(0, startAt - Date.now()) + Math.random() * intervalMs);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const endAt = startAt + durationMs;
  const getTokenMs = [];
  const fetchMs = [];
  const reasons = {};
  const failures = [];
  let calls = 0;
  let failed = 0;
  const fail = (why) => {
    failed++;
    reasons[why] = (reasons[why] ?? 0) + 1;
    if (failures.length < 1_000) failures.push({ at: Date.now(), why });
  };
  while (Date.now() < endAt) {
    const started = performance.now();
    calls++;
    try {
      await client.getToken();
      const gotToken = performance.now();
      getTokenMs.push(gotToken - started);
      const response = await client.fetch('/items/1');
      await response.arrayBuffer();
      fetchMs.push(performance.now() - gotToken);
      if (!response.ok) fail(`HTTP ${response.status}`);
    } catch (error) {
      fail(error?.code ?? error?.name ?? 'error');
    }
    const spent = performance.now() - started;
    await sleep(Math.max(0, intervalMs - spent));
  }
  loop.disable();
  return {
    calls,
    failed,
    reasons,
    failures,
    getTokenMs,
    fetchMs,
    loopDelayMs: {
      p99: loop.percentile(99) / 1e6,
      max: loop.max / 1e6,
    },
    events: events.map(summary),
  };
}

/** The fields of an event the scenario reads: never a token or a message with values. */
function summary(event) {
  return {
    type: event.type,
    at: event.at,
    source: event.source,
    operation: event.operation,
    code: event.code,
    background: event.background,
    expiresAt: event.expiresAt,
  };
}

const handlers = { setup, run, teardown };

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

import { createApiClient, type TokenFetchEvent } from '@tokenfetch/core';
import { openTelemetry } from '@tokenfetch/opentelemetry';
import { createClient } from '../contenders/tokenfetch.js';
import { credentials } from '../apps/credentials.js';
import { load, startApp } from '../lib/http-load.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed, median } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

/** ops/s of `n` sequential awaits of `fn`. */
async function opsPerSecond(fn: () => Promise<unknown>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return n / ((performance.now() - t0) / 1000);
}

/** Scenario 8: the per-call cost of a fresh token, and heap after many proxied calls. */
export const hotPath: Scenario = {
  id: 8,
  title: 'Hot path',
  async run({ quick, log, verdict }) {
    const mock = await startRemoteMock();
    try {
      // Part A, in this process on the app core: getToken() with a fresh token.
      pin(process.pid, cores?.app);
      const client = createClient(mock.baseUrl, credentials);
      await client.getToken();
      const constant = async () => 'token';
      const getToken = () => client.getToken();
      const n = quick ? 50_000 : 300_000;
      const rounds = quick ? 2 : 7;
      const tokenOps: number[] = [];
      const constantOps: number[] = [];
      await opsPerSecond(getToken, n);
      await opsPerSecond(constant, n);
      for (let round = 0; round < rounds; round++) {
        // Alternate which goes first.
        if (round % 2 === 0) {
          tokenOps.push(await opsPerSecond(getToken, n));
          constantOps.push(await opsPerSecond(constant, n));
        } else {
          constantOps.push(await opsPerSecond(constant, n));
          tokenOps.push(await opsPerSecond(getToken, n));
        }
      }
      await client.close();
      const ratios = tokenOps.map((ops, i) => ops / constantOps[i]!);

      // The same with the OpenTelemetry listener (global no-op providers: what an app that
      // has not installed an SDK pays) and a counter of events: none on the hot path.
      const seen: TokenFetchEvent[] = [];
      const observed = createApiClient({
        baseUrl: mock.baseUrl,
        auth: credentials,
        onEvent: [openTelemetry(), (event) => seen.push(event)],
      });
      await observed.getToken();
      const warmEvents = seen.length;
      const observedToken = () => observed.getToken();
      await opsPerSecond(observedToken, n);
      const observedOps: number[] = [];
      for (let round = 0; round < rounds; round++) {
        observedOps.push(await opsPerSecond(observedToken, n));
      }
      const hotEvents = seen.length - warmEvents;
      await observed.close();
      const listenerRatio = median(observedOps) / median(tokenOps);
      log(
        `getToken with openTelemetry(): ${count(median(observedOps))} ops/s, ${hotEvents} events`,
      );
      const ratio = median(ratios);
      log(
        `getToken ${count(median(tokenOps))} ops/s, constant ${count(median(constantOps))} ops/s`,
      );

      // Part B: heap of the Express proxy app (tokenfetch through the adapter) after 10,000
      // and after 200,000 proxied calls; the floor app for reference.
      pin(process.pid, cores?.upstream);
      const early = quick ? 2_000 : 10_000;
      const late = quick ? 20_000 : 200_000;
      const heapRows: string[][] = [];
      const growth = new Map<string, number>();
      for (const name of ['tokenfetch', 'floor'] as const) {
        const app = await startApp(
          name,
          new URL('../apps/proxy-app.ts', import.meta.url),
          cores?.app,
          { CONTENDER: name, BASE_URL: mock.baseUrl },
          ['--expose-gc'],
        );
        try {
          const t0 = performance.now();
          const first = await load(app.url, { amount: early, connections: 64, maxSeconds: 30 });
          const heapEarly = await app.process.call<number>('heap');
          const second = await load(app.url, {
            // The floor is a reference: fewer calls.
            amount: (name === 'tokenfetch' ? late : early * 3) - first.completed,
            connections: 64,
            maxSeconds: quick ? 20 : name === 'tokenfetch' ? 180 : 20,
          });
          const heapLate = await app.process.call<number>('heap');
          const calls = first.completed + second.completed;
          const seconds = (performance.now() - t0) / 1000;
          log(
            `${name}: heap ${fixed(heapEarly / 2 ** 20, 1)} → ${fixed(heapLate / 2 ** 20, 1)} MiB, ${count(calls)} calls in ${fixed(seconds, 0)} s`,
          );
          growth.set(name, heapLate - heapEarly);
          heapRows.push([
            name,
            count(first.completed),
            fixed(heapEarly / 2 ** 20, 2),
            count(calls),
            fixed(heapLate / 2 ** 20, 2),
            fixed((heapLate - heapEarly) / 2 ** 20, 2),
            fixed((heapLate - heapEarly) / second.completed, 1),
            count(first.bad + second.bad),
          ]);
        } finally {
          await app.process.stop();
        }
      }
      verdict({
        scenario: 8,
        figure: 'hot path: getToken() with a fresh token ÷ async constant (ops/s)',
        value: fixed(ratio, 3),
        target: 'report',
        met: undefined,
      });
      verdict({
        scenario: 8,
        figure:
          'hot path: events emitted on calls with a fresh token, onEvent = [openTelemetry(), counter]',
        value: String(hotEvents),
        target: '0',
        met: hotEvents === 0,
      });
      verdict({
        scenario: 8,
        figure: 'hot path: getToken() with openTelemetry() listening ÷ without (ops/s)',
        value: fixed(listenerRatio, 3),
        target: 'report (≈ 1: nothing to emit)',
        met: undefined,
      });
      verdict({
        scenario: 8,
        figure: `heap growth ${count(early)} → ${count(late)} proxied calls, tokenfetch vs floor (MiB)`,
        value: `${fixed(growth.get('tokenfetch')! / 2 ** 20, 2)} vs ${fixed(growth.get('floor')! / 2 ** 20, 2)}`,
        target: 'no growth beyond floor',
        met: growth.get('tokenfetch')! - growth.get('floor')! < 2 ** 20,
      });
      return [
        {
          title: `8a. Hot path: \`await client.getToken()\` with a fresh token vs \`await\` of an async function returning a constant (${count(n)} sequential awaits, ${rounds} alternating rounds, median)`,
          header: ['operation', 'ops/s (median)', 'ratio to constant', 'per-round ratios'],
          rows: [
            ['async () => constant', count(median(constantOps)), '1.000', ''],
            [
              'client.getToken()',
              count(median(tokenOps)),
              fixed(ratio, 3),
              ratios.map((x) => fixed(x, 3)).join(' '),
            ],
            [
              'client.getToken(), onEvent: [openTelemetry(), counter]',
              count(median(observedOps)),
              fixed(median(observedOps) / median(constantOps), 3),
              `${hotEvents} events emitted over ${count(n * (rounds + 1))} calls`,
            ],
          ],
        },
        {
          title: `8b. Heap of the Express proxy app after GC: after ${count(early)} and after ${count(late)} proxied calls (64 connections)`,
          header: [
            'app',
            'calls',
            'heap MiB',
            'calls',
            'heap MiB',
            'growth MiB',
            'bytes per call',
            'non-2xx',
          ],
          rows: heapRows,
          notes: [
            `Heap used after two full GCs (--expose-gc), read over IPC between load runs. Each run is capped in time (30 s, then 180 s for tokenfetch; the floor reference makes 30,000 calls in at most 20 s) so a slow machine cannot stretch the bench: the "calls" columns say how many were really made.`,
          ],
        },
      ];
    } finally {
      await mock.close();
    }
  },
};

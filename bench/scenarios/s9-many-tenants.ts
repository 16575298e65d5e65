import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClientPool } from '@tokenfetch/core';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed } from '../lib/stats.js';

/** Heap in use after two full GCs, in this process (the bench runs without --expose-gc). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const email = 'tenants@bench.test';
const password = 'bench-password';

/**
 * Scenario 9: many tenants through one pool. Each tenant is an org of one user (a login
 * and a token of its own); they are cycled through a pool of `maxClients`, twice, and the
 * pool must end with at most `maxClients` clients and the heap of the second cycle no
 * higher than after the first.
 */
export const manyTenants: Scenario = {
  id: 9,
  title: 'Many tenants through a client pool',
  async run({ quick, log, verdict }) {
    const tenants = quick ? 3_000 : 10_000;
    const maxClients = quick ? 300 : 1_000;
    const concurrency = 50;
    const orgs = Array.from({ length: tenants }, (_, i) => i + 1);
    const mock = await startRemoteMock({ users: [{ email, password, orgs, id: 1 }] });
    const pool = createClientPool({
      baseUrl: mock.baseUrl,
      maxClients,
      resolve: (tenant) => ({ auth: { email, password, orgId: Number(tenant) } }),
    });
    try {
      const heapBefore = heapAfterGc();
      const cycles: { seconds: number; heap: number; size: number; failed: number }[] = [];
      for (let cycle = 0; cycle < 2; cycle++) {
        const t0 = performance.now();
        let failed = 0;
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < tenants) {
              const tenant = String(orgs[next++]);
              const response = await pool.client(tenant).fetch('/user/users/me');
              await response.arrayBuffer();
              if (response.status !== 200) failed++;
            }
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        cycles.push({ seconds, heap: heapAfterGc(), size: pool.size, failed });
        log(
          `cycle ${cycle + 1}: ${count(tenants)} tenants in ${fixed(seconds, 1)} s, ` +
            `${pool.size} live clients, heap ${fixed(cycles.at(-1)!.heap / 2 ** 20, 1)} MiB, ${failed} failed`,
        );
      }
      const stats = await mock.stats();
      const [first, second] = cycles as [(typeof cycles)[0], (typeof cycles)[0]];
      const growthMiB = (second.heap - first.heap) / 2 ** 20;
      verdict({
        scenario: 9,
        figure: `live clients after ${count(tenants)} tenants (maxClients ${count(maxClients)})`,
        value: count(second.size),
        target: `≤ ${count(maxClients)}`,
        met: second.size <= maxClients,
      });
      verdict({
        scenario: 9,
        figure: 'heap growth, second cycle over the first',
        value: `${fixed(growthMiB, 2)} MiB`,
        target: '≤ 2 MiB',
        met: growthMiB <= 2,
      });
      return [
        {
          title: `9. ${count(tenants)} tenants (one org each) through createClientPool({ maxClients: ${count(maxClients)} })`,
          header: ['cycle', 'seconds', 'live clients', 'heap MiB', 'failed calls'],
          rows: [
            ['before', '', '0', fixed(heapBefore / 2 ** 20, 1), ''],
            ...cycles.map((c, i) => [
              String(i + 1),
              fixed(c.seconds, 1),
              count(c.size),
              fixed(c.heap / 2 ** 20, 1),
              count(c.failed),
            ]),
            ['logins', '', count(stats.successfulLogins), '', ''],
          ],
        },
      ];
    } finally {
      await pool.close();
      await mock.close();
    }
  },
};

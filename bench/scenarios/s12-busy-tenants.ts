import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { serve } from '@hono/node-server';
import type * as Core from '@tokenfetch/core';
import type * as HonoAdapter from '@tokenfetch/hono';
import { Hono } from 'hono';
import { baselineDir } from '../contenders/baseline.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed } from '../lib/stats.js';
import type { Table } from '../lib/table.js';

/** Heap in use after two full GCs, in this process (the bench runs without --expose-gc). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface Build {
  name: string;
  core: typeof Core;
  hono: typeof HonoAdapter;
}

/** This checkout's packages, and, with TOKENFETCH_BASELINE, the baseline's (bench/README). */
async function builds(): Promise<Build[]> {
  const own: Build = {
    name: 'this build',
    core: await import('@tokenfetch/core'),
    hono: await import('@tokenfetch/hono'),
  };
  if (baselineDir === undefined) return [own];
  const load = (pkg: string) =>
    import(pathToFileURL(`${baselineDir}/packages/${pkg}/dist/index.js`).href) as Promise<never>;
  return [{ name: 'baseline', core: await load('core'), hono: await load('hono') }, own];
}

const tenantCount = 12;
const maxClients = 5;

interface BusyResult {
  failed: number;
  reasons: Map<string, number>;
  maxPoolSize: number;
  /** Clients built and not yet closed, at most (undefined: the build emits no `close`). */
  maxLive: number | undefined;
  built: number;
  logins: number;
  seconds: number;
}

/**
 * Issue 20, item 2: 12 busy tenants through a Hono app (`authMiddleware({ pool, tenant })`
 * on @hono/node-server) whose pool keeps `maxClients: 5`; `calls` requests at once, each
 * route reading its upstream answer's body (`await (await apiFetch(p)).json()`). A pool that
 * closes an evicted client while its answer is still being read fails those requests.
 */
async function busyTenants(build: Build, calls: number): Promise<BusyResult> {
  const users = Array.from({ length: tenantCount }, (_, i) => ({
    email: `tenant-${i}@busy.test`,
    password: `busy-password-${i}`,
    orgs: [1],
    id: i + 1,
  }));
  const mock = await startRemoteMock({ users });
  let built = 0;
  let closed = 0;
  let sawClose = false;
  let maxLive = 0;
  let maxPoolSize = 0;
  const pool = build.core.createClientPool({
    maxClients,
    onEvent: (event) => {
      if (event.type !== ('close' as string)) return;
      sawClose = true;
      closed++;
    },
    resolve: (tenant) => {
      built++;
      maxLive = Math.max(maxLive, built - closed);
      const user = users[Number(tenant)]!;
      return {
        baseUrl: mock.baseUrl,
        auth: { email: user.email, password: user.password, orgId: 1 },
      };
    },
  });
  const sampler = setInterval(() => {
    maxPoolSize = Math.max(maxPoolSize, pool.size);
    maxLive = Math.max(maxLive, built - closed);
  }, 2);
  const app = new Hono<HonoAdapter.TokenfetchEnv>();
  app.use(build.hono.authMiddleware({ pool, tenant: (c) => c.req.header('x-tenant') ?? '0' }));
  app.get('/objects/:id', async (c) => {
    const answer = await c.var.apiFetch(`/data/object/${c.req.param('id')}`);
    return c.json(await answer.json());
  });
  app.onError(build.hono.problemDetails());
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const reasons = new Map<string, number>();
  const t0 = performance.now();
  try {
    const outcomes = await Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        try {
          const response = await fetch(`${base}/objects/${i}`, {
            headers: { 'x-tenant': String((i * 7) % tenantCount) },
          });
          const text = await response.text();
          if (response.status === 200) return undefined;
          let code = '';
          try {
            code = String((JSON.parse(text) as { code?: unknown }).code ?? '');
          } catch {
            // not problem+json
          }
          return `HTTP ${response.status}${code === '' ? '' : ` ${code}`}`;
        } catch (error) {
          return error instanceof Error ? error.name : 'error';
        }
      }),
    );
    for (const outcome of outcomes) {
      if (outcome !== undefined) reasons.set(outcome, (reasons.get(outcome) ?? 0) + 1);
    }
    const seconds = (performance.now() - t0) / 1000;
    const stats = await mock.stats();
    return {
      failed: outcomes.filter((outcome) => outcome !== undefined).length,
      reasons,
      maxPoolSize,
      maxLive: sawClose ? maxLive : undefined,
      built,
      logins: stats.successfulLogins,
      seconds,
    };
  } finally {
    clearInterval(sampler);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.close();
    await mock.close();
  }
}

interface AsResult {
  heaps: Array<{ identities: number; heapMiB: number }>;
  failed: number;
  logins: number;
  seconds: number;
}

/**
 * Issue 20, item 4: one root client acting as `identities` distinct orgs through
 * `client.as({ orgId })`, 50 at a time, each org one call; the heap after two full GCs
 * before, halfway and at the end.
 */
async function asIdentities(build: Build, identities: number): Promise<AsResult> {
  const email = 'service@as.test';
  const password = 'as-password';
  const orgs = Array.from({ length: identities }, (_, i) => i + 1);
  const mock = await startRemoteMock({ users: [{ email, password, orgs, id: 1 }] });
  const root = build.core.createApiClient({
    baseUrl: mock.baseUrl,
    auth: { email, password, orgId: 1 },
  });
  const heaps: AsResult['heaps'] = [{ identities: 0, heapMiB: heapAfterGc() / 2 ** 20 }];
  let failed = 0;
  const t0 = performance.now();
  try {
    for (const half of [0, 1]) {
      let next = half * (identities / 2);
      const end = (half + 1) * (identities / 2);
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < end) {
            const orgId = orgs[next++]!;
            try {
              const response = await root.as({ orgId }).fetch('/user/users/me');
              await response.arrayBuffer();
              if (response.status !== 200) failed++;
            } catch {
              failed++;
            }
          }
        }),
      );
      heaps.push({ identities: end, heapMiB: heapAfterGc() / 2 ** 20 });
    }
    const stats = await mock.stats();
    return {
      heaps,
      failed,
      logins: stats.successfulLogins,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await root.close();
    await mock.close();
  }
}

/**
 * Scenario 12 (issue 20's bench): a busy pool through an adapter loses no answer, and
 * `as()` identities leave the heap bounded. With TOKENFETCH_BASELINE, the baseline build
 * runs the same, first.
 */
export const busyTenantsScenario: Scenario = {
  id: 12,
  title: 'Busy tenants through an adapter; as() identities',
  async run({ quick, log, verdict }) {
    const calls = 300;
    const identities = quick ? 4_000 : 20_000;
    const busy: Array<[string, BusyResult]> = [];
    const as: Array<[string, AsResult]> = [];
    for (const build of await builds()) {
      const result = await busyTenants(build, calls);
      busy.push([build.name, result]);
      log(
        `${build.name}: ${result.failed} of ${calls} calls failed, pool size ≤ ${result.maxPoolSize}, ` +
          `live ≤ ${result.maxLive ?? '?'}, ${result.built} clients built, ${result.logins} logins, ${fixed(result.seconds, 1)} s`,
      );
      const heap = await asIdentities(build, identities);
      as.push([build.name, heap]);
      log(
        `${build.name}: ${count(identities)} as() identities, heap ${heap.heaps.map((h) => fixed(h.heapMiB, 1)).join(' → ')} MiB, ` +
          `${heap.failed} failed, ${count(heap.logins)} logins, ${fixed(heap.seconds, 1)} s`,
      );
    }
    const [, own] = busy.at(-1)!;
    verdict({
      scenario: 12,
      figure: `failed calls, ${tenantCount} busy tenants through Hono, maxClients ${maxClients}`,
      value: `${own.failed} of ${calls}`,
      target: '0',
      met: own.failed === 0,
    });
    verdict({
      scenario: 12,
      figure: 'clients in the pool, at most',
      value: String(own.maxPoolSize),
      target: `≤ ${maxClients}`,
      met: own.maxPoolSize <= maxClients,
    });
    const [, ownAs] = as.at(-1)!;
    const half = ownAs.heaps[1]!.heapMiB;
    const last = ownAs.heaps[2]!.heapMiB;
    verdict({
      scenario: 12,
      figure: `heap growth over the second ${count(identities / 2)} as() identities`,
      value: `${fixed(last - half, 2)} MiB`,
      target: '≤ 2 MiB',
      met: last - half <= 2,
    });
    const reasons = (result: BusyResult) =>
      [...result.reasons].map(([reason, n]) => `${reason} ×${n}`).join(', ');
    const tables: Table[] = [
      {
        title: `12a. ${tenantCount} busy tenants through Hono 4 (authMiddleware({ pool, tenant }), createClientPool({ maxClients: ${maxClients} })): ${calls} requests at once, each route reading its answer's body`,
        header: [
          'build',
          'failed calls',
          'why',
          'clients in the pool, at most',
          'clients built and not closed, at most',
          'clients built',
          'logins',
          'seconds',
        ],
        rows: busy.map(([name, r]) => [
          name,
          `${r.failed} of ${calls}`,
          reasons(r) || '–',
          String(r.maxPoolSize),
          r.maxLive === undefined ? 'no close event' : String(r.maxLive),
          String(r.built),
          String(r.logins),
          fixed(r.seconds, 1),
        ]),
      },
      {
        title: `12b. One client acting as ${count(identities)} orgs through client.as({ orgId }), one call each, 50 at a time: heap after two full GCs`,
        header: [
          'build',
          'heap MiB before',
          `after ${count(identities / 2)}`,
          `after ${count(identities)}`,
          'failed calls',
          'logins',
          'seconds',
        ],
        rows: as.map(([name, r]) => [
          name,
          ...r.heaps.map((h) => fixed(h.heapMiB, 1)),
          count(r.failed),
          count(r.logins),
          fixed(r.seconds, 1),
        ]),
      },
    ];
    return tables;
  },
};

import { load, measurePairs, startApp, summarizePair, warmUp, type App } from '../lib/http-load.js';
import { ownShare, type CpuProfile } from '../lib/profile.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import { cores, pin } from '../lib/taskset.js';

type Summary = ReturnType<typeof summarizePair>;

/** tokenfetch's own code, as the bench runs it: the workspace packages, built or source. */
const packages = new URL('../../packages/', import.meta.url).href;
const isTokenfetch = (url: string) =>
  url.startsWith(packages) && /^[^/]+\/(dist|src)\//.test(url.slice(packages.length));

/** Sampling interval of the profile, µs: ~10,000 samples a second of a busy core. */
const profileIntervalUs = 100;

/**
 * Each framework's app: one route answering a constant, with no middleware (MIDDLEWARE=0),
 * with an empty one (pass-through: what the framework charges for any middleware), or with
 * tokenfetch's (MIDDLEWARE=1: it attaches `apiFetch`; the route never calls it).
 */
const frameworks = [
  { name: 'Express 5', adapter: 'authMiddleware()', app: 'middleware-app.ts' },
  { name: 'Fastify 5', adapter: 'the tokenfetch plugin', app: 'middleware-fastify.ts' },
  { name: 'Hono 4', adapter: 'authMiddleware()', app: 'middleware-hono.ts' },
] as const;

/** Scenario 2: a route with no upstream call, with and without tokenfetch's middleware. */
export const middlewareOverhead: Scenario = {
  id: 2,
  title: 'Middleware overhead',
  async run({ quick, log, verdict }) {
    // No call reaches it; it gives the middleware a valid base URL.
    const mock = await startRemoteMock();
    pin(process.pid, cores?.upstream);
    const tables: Table[] = [];
    try {
      for (const framework of frameworks) {
        const apps: App[] = [];
        try {
          const file = new URL(`../apps/${framework.app}`, import.meta.url);
          const start = async (name: string, middleware: string) => {
            const app = await startApp(name, file, cores?.app, {
              MIDDLEWARE: middleware,
              BASE_URL: mock.baseUrl,
            });
            apps.push(app);
            return app;
          };
          const tokenfetchApp = await start('tokenfetch', '1');
          // Every pair has apps of its own, so both have always been loaded together.
          const pairs: Array<readonly [App, App]> = [
            [await start('bare-a', '0'), await start('bare-b', '0')],
            [await start('pass-through', 'pass-through'), await start('bare-c', '0')],
            [tokenfetchApp, await start('bare-d', '0')],
            [await start('tokenfetch-b', '1'), await start('pass-through-b', 'pass-through')],
          ];
          for (const app of apps) await warmUp(app, quick ? 500 : 8_000, quick ? 2 : 10);
          const options = quick
            ? { warmups: 0, rounds: 1, seconds: 1 }
            : { warmups: 2, rounds: 5, seconds: 2 };
          const [aa, pass, mw, own] = (await measurePairs(pairs, options)).map((rounds) =>
            summarizePair(rounds),
          ) as [Summary, Summary, Summary, Summary];
          // The pairs cannot tell 1 % apart (two identical apps differ by up to 5 %): so
          // a CPU profile of the tokenfetch app, loaded alone, says how much of its CPU
          // tokenfetch's code takes, to a tenth of a percent.
          await tokenfetchApp.process.call('profileStart', profileIntervalUs);
          await load(tokenfetchApp.url, { seconds: quick ? 1 : 5 });
          const profile = await tokenfetchApp.process.call<CpuProfile>('profileStop');
          const share = ownShare(profile, isTokenfetch);
          log(
            `${framework.name}: A/A ${fixed(aa.ratio, 3)}, bare ÷ ${framework.adapter} ${fixed(1 / mw.ratio, 3)}, pass-through ÷ ${framework.adapter} ${fixed(1 / own.ratio, 3)}, profiled share ${fixed(share.share * 100, 2)} %`,
          );
          verdict({
            scenario: 2,
            figure: `middleware, ${framework.name}: 1 − the CPU share of tokenfetch's code in the app with ${framework.adapter} (CPU profile)`,
            value: `${fixed(1 - share.share, 4)} (${fixed(share.share * 100, 2)} %)`,
            target: '≥ 0.99',
            met: 1 - share.share >= 0.99,
          });
          verdict({
            scenario: 2,
            figure: `middleware, ${framework.name}: bare CPU/req ÷ with ${framework.adapter} CPU/req`,
            value: fixed(1 / mw.ratio, 3),
            target: '≥ 0.99',
            met: 1 / mw.ratio >= 0.99,
          });
          verdict({
            scenario: 2,
            figure: `middleware, ${framework.name}: pass-through CPU/req ÷ ${framework.adapter} CPU/req (its own share)`,
            value: fixed(1 / own.ratio, 3),
            target: '≥ 0.99',
            met: 1 / own.ratio >= 0.99,
          });
          const row = (name: string, s: Summary) => [
            name,
            fixed(s.cpuA, 1),
            fixed(s.cpuB, 1),
            fixed(s.ratio, 3),
            fixed(1 / s.ratio, 3),
            s.ratios.map((x) => fixed(x, 3)).join(' '),
            fixed(s.bad, 0),
          ];
          tables.push({
            title: `2. Middleware overhead, ${framework.name} (route without upstream call; pairs pinned to one core, loaded together; ${options.warmups} warm-up + ${options.rounds} rounds of ${options.seconds} s, median)`,
            header: [
              'app',
              'CPU µs/req',
              'bare CPU µs/req (same rounds)',
              'CPU ÷ bare',
              'bare ÷ CPU (≈ req/s ratio)',
              'per-round CPU ÷ bare',
              'non-2xx',
            ],
            rows: [
              row('bare (A/A: 2nd bare process)', aa),
              row('with a pass-through middleware', pass),
              row(`with ${framework.adapter}`, mw),
            ],
            notes: [
              `${framework.adapter} ÷ pass-through middleware, same rounds: CPU ${fixed(own.ratio, 3)} (rounds ${own.ratios.map((x) => fixed(x, 3)).join(', ')}): tokenfetch's own share, beyond what ${framework.name} charges for any middleware.`,
              `CPU profile of the app with ${framework.adapter}, loaded alone for ${quick ? 1 : 5} s after the rounds (sampled every ${profileIntervalUs} µs): tokenfetch's code, with the runtime it calls but not the framework code it hands on to, took ${fixed(share.ours, 0)} of ${fixed(share.busy, 0)} busy samples, ${fixed(share.share * 100, 2)} % of the app's CPU.`,
            ],
          });
        } finally {
          for (const app of apps) await app.process.stop();
        }
      }
      return tables;
    } finally {
      await mock.close();
    }
  },
};

import { measurePairs, startApp, summarizePair, warmUp, type App } from '../lib/http-load.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import { cores, pin } from '../lib/taskset.js';

type Summary = ReturnType<typeof summarizePair>;

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
          // Every pair has apps of its own, so both have always been loaded together.
          const pairs: Array<readonly [App, App]> = [
            [await start('bare-a', '0'), await start('bare-b', '0')],
            [await start('pass-through', 'pass-through'), await start('bare-c', '0')],
            [await start('tokenfetch', '1'), await start('bare-d', '0')],
            [await start('tokenfetch-b', '1'), await start('pass-through-b', 'pass-through')],
          ];
          for (const app of apps) await warmUp(app, quick ? 500 : 8_000, quick ? 2 : 10);
          const options = quick
            ? { warmups: 0, rounds: 1, seconds: 1 }
            : { warmups: 2, rounds: 5, seconds: 2 };
          const [aa, pass, mw, own] = (await measurePairs(pairs, options)).map((rounds) =>
            summarizePair(rounds),
          ) as [Summary, Summary, Summary, Summary];
          log(
            `${framework.name}: A/A ${fixed(aa.ratio, 3)}, bare ÷ ${framework.adapter} ${fixed(1 / mw.ratio, 3)}, pass-through ÷ ${framework.adapter} ${fixed(1 / own.ratio, 3)}`,
          );
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

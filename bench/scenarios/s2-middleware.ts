import { measurePairs, startApp, summarizePair, warmUp, type App } from '../lib/http-load.js';

type Summary = ReturnType<typeof summarizePair>;
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const middlewareApp = new URL('../apps/middleware-app.ts', import.meta.url);

/** Scenario 2: a route with no upstream call, with and without `authMiddleware()`. */
export const middlewareOverhead: Scenario = {
  id: 2,
  title: 'Middleware overhead',
  async run({ quick, log, verdict }) {
    // No call reaches it; it gives the middleware a valid base URL.
    const mock = await startRemoteMock();
    pin(process.pid, cores?.upstream);
    const apps: App[] = [];
    try {
      const start = async (name: string, middleware: string) => {
        const app = await startApp(name, middlewareApp, cores?.app, {
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
        [await start('authMiddleware', '1'), await start('bare-d', '0')],
        [await start('authMiddleware-b', '1'), await start('pass-through-b', 'pass-through')],
      ];
      for (const app of apps) await warmUp(app, quick ? 500 : 8_000, quick ? 2 : 10);
      const options = quick
        ? { warmups: 0, rounds: 1, seconds: 1 }
        : { warmups: 2, rounds: 5, seconds: 2 };
      const [aa, pass, mw, own] = (await measurePairs(pairs, options)).map((rounds) =>
        summarizePair(rounds),
      ) as [Summary, Summary, Summary, Summary];
      log(`A/A: ${fixed(aa.cpuA, 1)} vs ${fixed(aa.cpuB, 1)} µs/req, ratio ${fixed(aa.ratio, 3)}`);
      log(
        `middleware: ${fixed(mw.cpuA, 1)} vs ${fixed(mw.cpuB, 1)} µs/req, ratio ${fixed(mw.ratio, 3)}`,
      );
      verdict({
        scenario: 2,
        figure: 'middleware: bare CPU/req ÷ with authMiddleware() CPU/req',
        value: fixed(1 / mw.ratio, 3),
        target: '≥ 0.99',
        met: 1 / mw.ratio >= 0.99,
      });
      verdict({
        scenario: 2,
        figure:
          'middleware: pass-through middleware CPU/req ÷ authMiddleware() CPU/req (its own share)',
        value: fixed(1 / own.ratio, 3),
        target: '≥ 0.99',
        met: 1 / own.ratio >= 0.99,
      });
      const row = (name: string, s: ReturnType<typeof summarizePair>) => [
        name,
        fixed(s.cpuA, 1),
        fixed(s.cpuB, 1),
        fixed(s.ratio, 3),
        fixed(1 / s.ratio, 3),
        s.ratios.map((x) => fixed(x, 3)).join(' '),
        fixed(s.bad, 0),
      ];
      return [
        {
          title: `2. Middleware overhead (route without upstream call; pairs pinned to one core, loaded together; ${options.warmups} warm-up + ${options.rounds} rounds of ${options.seconds} s, median)`,
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
            row('with authMiddleware()', mw),
          ],
          notes: [
            `authMiddleware() ÷ pass-through middleware, same rounds: CPU ${fixed(own.ratio, 3)} (rounds ${own.ratios.map((x) => fixed(x, 3)).join(', ')}): tokenfetch's own share, beyond what Express charges for any middleware layer.`,
          ],
        },
      ];
    } finally {
      for (const app of apps) await app.process.stop();
      await mock.close();
    }
  },
};

import { managing } from '../contenders/index.js';
import { formatReasons, startLoadWorker } from '../lib/load-worker.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const tokenTtlMs = 2000;
const workers = 8;

/** Scenario 5: 2-second tokens (announced in the login answer) under steady load. */
export const expiryUnderLoad: Scenario = {
  id: 5,
  title: 'Expiry under load',
  async run({ quick, log, verdict }) {
    pin(process.pid, cores?.upstream);
    const durationMs = quick ? 3_000 : 20_000;
    // Every contender at once, each in its own process with its own mock upstream, so the
    // counts are its own; the figures are counts, not speeds.
    const mocks = await Promise.all(
      managing.map(() => startRemoteMock({ tokenTtlMs, announceTtl: true })),
    );
    const runners = await Promise.all(
      managing.map((name, i) => startLoadWorker(name, mocks[i]!.baseUrl)),
    );
    try {
      const results = await Promise.all(runners.map((w) => w.run(workers, durationMs, 2_000_000)));
      const stats = await Promise.all(mocks.map((m) => m.stats()));
      const rows = managing.map((name, i) => {
        const r = results[i]!;
        const s = stats[i]!;
        log(
          `${name}: ${s.successfulLogins} logins, ${s.rejectedCalls} 403s, ${r.failed} failed of ${r.calls}`,
        );
        return { name, r, s };
      });
      const tf = rows.find((row) => row.name === 'tokenfetch')!;
      const lifetimes = durationMs / tokenTtlMs;
      verdict({
        scenario: 5,
        figure: `expiry: tokenfetch 403s at upstream / failed calls (${lifetimes} lifetimes)`,
        value: `${tf.s.rejectedCalls} / ${tf.r.failed}`,
        target: '0 / 0',
        met: tf.s.rejectedCalls === 0 && tf.r.failed === 0,
      });
      return [
        {
          title: `5. Expiry under load (tokens live ${tokenTtlMs / 1000} s, announced as expiresIn; ${durationMs / 1000} s of load, ${workers} concurrent callers per contender)`,
          header: [
            'contender',
            'calls',
            'logins',
            '401/403 at upstream',
            'failed calls',
            'why calls failed',
            'unhandled rejections',
          ],
          rows: rows.map(({ name, r, s }) => [
            name,
            count(r.calls),
            String(s.successfulLogins),
            count(s.rejectedCalls),
            count(r.failed),
            formatReasons(r.reasons),
            String(r.unhandled),
          ]),
          notes: [
            `${lifetimes} token lifetimes: one login per lifetime would be ${lifetimes}; a client that refreshes ahead needs a few more (tokenfetch stops using a token in its last quarter of life, at most 1 s, and refreshes a third of its lifetime before that).`,
            'The contenders ran at the same time, each in its own process against its own mock upstream (counts, not speeds, are compared).',
          ],
        },
      ];
    } finally {
      await Promise.all(runners.map((w) => w.stop()));
      await Promise.all(mocks.map((m) => m.close()));
    }
  },
};

import { managing } from '../contenders/index.js';
import { formatReasons, startLoadWorker } from '../lib/load-worker.js';
import { startRemoteMock, type RemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed, sleep } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const workers = 8;
const failRate = 0.2;
const maxLoginDelayMs = 2000;

/** Revokes every token at random moments, 1–5 s apart, until `until`; returns how often. */
async function revokeAtRandom(mock: RemoteMock, until: number): Promise<number> {
  let revocations = 0;
  for (;;) {
    const wait = 1000 + Math.random() * 4000;
    if (performance.now() + wait >= until) return revocations;
    await sleep(wait);
    await mock.revokeTokens();
    revocations++;
  }
}

/** Scenario 7: load while logins fail, crawl and tokens are revoked at random. */
export const chaos: Scenario = {
  id: 7,
  title: 'Chaos',
  async run({ quick, log, verdict }) {
    pin(process.pid, cores?.upstream);
    // 45 s rather than 60 s keeps the whole bench near 12 minutes.
    const durationMs = quick ? 5_000 : 45_000;
    const mocks = await Promise.all(managing.map(() => startRemoteMock()));
    const runners = await Promise.all(
      managing.map((name, i) => startLoadWorker(name, mocks[i]!.baseUrl)),
    );
    try {
      await Promise.all(mocks.map((m) => m.chaos(failRate, maxLoginDelayMs)));
      const until = performance.now() + durationMs;
      const [results, revocations] = await Promise.all([
        Promise.all(runners.map((w) => w.run(workers, durationMs, 2_000_000))),
        Promise.all(mocks.map((m) => revokeAtRandom(m, until))),
      ]);
      const stats = await Promise.all(mocks.map((m) => m.stats()));
      const failures = await Promise.all(mocks.map((m) => m.chaosFailures()));
      const rows = managing.map((name, i) => ({
        name,
        r: results[i]!,
        s: stats[i]!,
        revoked: revocations[i]!,
        failedLogins: failures[i]!,
      }));
      for (const { name, r, s } of rows) {
        log(
          `${name}: ${r.failed} failed of ${r.calls}, ${s.successfulLogins} logins, ${r.unhandled} unhandled`,
        );
      }
      const tf = rows.find((row) => row.name === 'tokenfetch')!;
      const growth = (tf.r.heapEnd - tf.r.heapStart) / 2 ** 20;
      verdict({
        scenario: 7,
        figure: 'chaos: tokenfetch failed calls / unhandled rejections',
        value: `${tf.r.failed} / ${tf.r.unhandled}`,
        target: '0 / 0',
        met: tf.r.failed === 0 && tf.r.unhandled === 0,
      });
      verdict({
        scenario: 7,
        figure: 'chaos: tokenfetch heap growth, MiB',
        value: fixed(growth, 2),
        target: 'no trend (report)',
        met: undefined,
      });
      return [
        {
          title: `7. Chaos (${durationMs / 1000} s; each login fails with 500 at ${failRate * 100} % and answers after 0–${maxLoginDelayMs / 1000} s; every token revoked every 1–5 s; ${workers} concurrent callers per contender)`,
          header: [
            'contender',
            'calls',
            'failed calls',
            'why calls failed',
            'logins (ok / attempts / 500s)',
            'revocations',
            'unhandled rejections',
            'heap after GC, MiB (start → end)',
          ],
          rows: rows.map(({ name, r, s, revoked, failedLogins }) => [
            name,
            count(r.calls),
            count(r.failed),
            formatReasons(r.reasons),
            `${s.successfulLogins} / ${s.loginAttempts} / ${failedLogins}`,
            String(revoked),
            String(r.unhandled),
            `${fixed(r.heapStart / 2 ** 20, 1)} → ${fixed(r.heapEnd / 2 ** 20, 1)}`,
          ]),
          notes: [
            'The login failures and delays are drawn per login inside the mock upstream (a login hook), which is what `failNextLogins(500)` and `setLoginDelay(0–2000)` would do if re-armed before every login.',
            'Contenders ran at the same time, each in its own process against its own mock upstream.',
            'tokenfetch retries a failed login twice (guarantee 6, docs/guarantees.md), so its calls fail only when three attempts in a row fail (0.2³ ≈ 0.8 % of login sequences); every caller waiting on that login then gets the same E_LOGIN_FAILED.',
            'badgateway never re-authenticates on 403; hand-written fails a call whenever its own login fails (no retry); axios-auth-refresh rejects 403s that arrive while a refresh is running.',
          ],
        },
      ];
    } finally {
      await Promise.all(runners.map((w) => w.stop()));
      await Promise.all(mocks.map((m) => m.close()));
    }
  },
};

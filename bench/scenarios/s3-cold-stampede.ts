import { managing, type ContenderName } from '../contenders/index.js';
import {
  formatReasons,
  mergeReasons,
  startLoadWorker,
  type BurstResult,
} from '../lib/load-worker.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { count, fixed, median } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const loginDelayMs = 200;

/** Scenario 3: 1,000 calls at once on a cold client. */
export const coldStampede: Scenario = {
  id: 3,
  title: 'Cold stampede',
  async run({ quick, log, verdict }) {
    pin(process.pid, cores?.upstream);
    const calls = 1000;
    const rounds = quick ? 1 : 2;
    const mock = await startRemoteMock();
    const results = new Map<
      ContenderName,
      Array<BurstResult & { logins: number; attempts: number; rejected: number }>
    >();
    try {
      await mock.setLoginDelay(loginDelayMs);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? managing : [...managing].reverse();
        for (const name of order) {
          const worker = await startLoadWorker(name, mock.baseUrl);
          await mock.resetStats();
          const result = await worker.burst(calls, 60_000);
          const stats = await mock.stats();
          await worker.stop();
          log(
            `${name}: ${stats.successfulLogins} logins, ${result.failed} failed, last success ${fixed(result.lastSuccessMs, 0)} ms`,
          );
          results.set(name, [
            ...(results.get(name) ?? []),
            {
              ...result,
              logins: stats.successfulLogins,
              attempts: stats.loginAttempts,
              rejected: stats.rejectedCalls,
            },
          ]);
        }
      }
    } finally {
      await mock.close();
    }
    const all = (
      name: ContenderName,
      pick: (r: BurstResult & { logins: number; attempts: number; rejected: number }) => number,
    ) => results.get(name)!.map(pick);
    const tf = results.get('tokenfetch')!;
    verdict({
      scenario: 3,
      figure: 'cold stampede: tokenfetch logins / failed calls',
      value: `${tf.map((r) => r.logins).join(', ')} / ${tf.map((r) => r.failed).join(', ')}`,
      target: '1 / 0',
      met: tf.every((r) => r.logins === 1 && r.failed === 0),
    });
    return [
      {
        title: `3. Cold stampede (${count(calls)} concurrent calls on a cold client, login answered after ${loginDelayMs} ms; ${rounds} round${rounds === 1 ? '' : 's'}, each in a fresh process)`,
        header: [
          'contender',
          'logins',
          'login attempts',
          '403s at upstream',
          'failed calls',
          'time to last success, ms (median)',
          'why calls failed',
          'unhandled rejections',
        ],
        rows: managing.map((name) => [
          name,
          all(name, (r) => r.logins).join(', '),
          all(name, (r) => r.attempts).join(', '),
          all(name, (r) => r.rejected).join(', '),
          all(name, (r) => r.failed).join(', '),
          fixed(median(all(name, (r) => r.lastSuccessMs)), 0),
          formatReasons(mergeReasons(results.get(name)!.map((r) => r.reasons))),
          all(name, (r) => r.unhandled).join(', '),
        ]),
        notes: [
          'Several figures in a cell are the rounds, in order. floor is left out: it logs in once before the first call by construction.',
        ],
      },
    ];
  },
};

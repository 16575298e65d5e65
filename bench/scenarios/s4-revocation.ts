import { managing, type ContenderName } from '../contenders/index.js';
import {
  formatReasons,
  mergeReasons,
  startLoadWorker,
  type BurstResult,
} from '../lib/load-worker.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const loginDelayMs = 200;

interface Row extends BurstResult {
  logins: number;
  rejected: number;
}

/** Scenario 4: every token revoked while 500 calls are in flight. */
export const revocationStorm: Scenario = {
  id: 4,
  title: 'Revocation storm',
  async run({ quick, log, verdict }) {
    pin(process.pid, cores?.upstream);
    const calls = 500;
    const rounds = quick ? 1 : 2;
    const mock = await startRemoteMock();
    const results = new Map<ContenderName, Row[]>();
    try {
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? managing : [...managing].reverse();
        for (const name of order) {
          await mock.setLoginDelay(0);
          const worker = await startLoadWorker(name, mock.baseUrl);
          // Warm: the contender holds a good token.
          await worker.burst(20, 10_000);
          await mock.setLoginDelay(loginDelayMs);
          await mock.resetStats();
          const storm = worker.burst(calls, 60_000);
          await mock.revokeTokens();
          const result = await storm;
          const stats = await mock.stats();
          await worker.stop();
          log(
            `${name}: ${stats.successfulLogins} logins, ${result.failed} failed, ${stats.rejectedCalls} 403s`,
          );
          results.set(name, [
            ...(results.get(name) ?? []),
            { ...result, logins: stats.successfulLogins, rejected: stats.rejectedCalls },
          ]);
        }
      }
    } finally {
      await mock.close();
    }
    const tf = results.get('tokenfetch')!;
    verdict({
      scenario: 4,
      figure: 'revocation storm: tokenfetch logins / failed calls',
      value: `${tf.map((r) => r.logins).join(', ')} / ${tf.map((r) => r.failed).join(', ')}`,
      target: '1 / 0',
      met: tf.every((r) => r.logins === 1 && r.failed === 0),
    });
    const cell = (name: ContenderName, pick: (r: Row) => number) =>
      results.get(name)!.map(pick).join(', ');
    return [
      {
        title: `4. Revocation storm (${calls} calls started, then every token revoked; re-login answered after ${loginDelayMs} ms; ${rounds} round${rounds === 1 ? '' : 's'})`,
        header: [
          'contender',
          'logins',
          '403s at upstream',
          'failed calls',
          'time to last success, ms',
          'why calls failed',
          'unhandled rejections',
        ],
        rows: managing.map((name) => [
          name,
          cell(name, (r) => r.logins),
          cell(name, (r) => r.rejected),
          cell(name, (r) => r.failed),
          results
            .get(name)!
            .map((r) => fixed(r.lastSuccessMs, 0))
            .join(', '),
          formatReasons(mergeReasons(results.get(name)!.map((r) => r.reasons))),
          cell(name, (r) => r.unhandled),
        ]),
        notes: [
          'The revocation is sent right after the calls are started; "403s at upstream" shows how many of them met a revoked token.',
          'badgateway re-authenticates on 401 only, and this upstream answers 403: its calls fail until its token expires (never, when no lifetime is announced).',
        ],
      },
    ];
  },
};

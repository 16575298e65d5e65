import { baselineDir, type ContenderName } from '../contenders/index.js';
import { load, measurePairs, startApp, summarizePair, warmUp, type App } from '../lib/http-load.js';
import { cpuMicros } from '../lib/proc.js';
import { startRemoteMock } from '../lib/remote-mock.js';
import type { Scenario } from '../lib/scenario.js';
import { fixed, max, median, min } from '../lib/stats.js';
import { cores, pin } from '../lib/taskset.js';

const order: ContenderName[] = [
  'floor',
  'tokenfetch',
  // Another build of tokenfetch, for a before/after (TOKENFETCH_BASELINE, contenders/baseline.ts).
  ...(baselineDir === undefined ? [] : (['tokenfetch-baseline'] as const)),
  'axios',
  'badgateway',
  'hand-written',
  'undici-limit',
];
/** With a baseline: this build and the baseline as one pair, each in a second process. */
const direct =
  baselineDir === undefined ? [] : (['tokenfetch#new', 'tokenfetch-baseline#old'] as const);
const proxyApp = new URL('../apps/proxy-app.ts', import.meta.url);

/** Scenario 1: an Express route making one upstream call, per contender. */
export const proxyThroughput: Scenario = {
  id: 1,
  title: 'Proxy throughput and latency',
  async run({ quick, log, verdict }) {
    const mock = await startRemoteMock();
    // The load generator shares the upstream core with the mock; the apps get the other.
    pin(process.pid, cores?.upstream);
    const apps = new Map<string, App>();
    try {
      // Part B gives every app a floor partner of its own, so the two apps of a pair have
      // always been loaded (and idle) together: no partner is warmer than the other.
      const partners = ['floor-b', ...order.filter((name) => name !== 'floor')].map(
        (name) => `floor#${name}`,
      );
      for (const name of [...order, 'floor-b', ...partners, ...direct]) {
        const contender = (
          name.startsWith('floor') ? 'floor' : name.split('#')[0]
        ) as ContenderName;
        apps.set(
          name,
          await startApp(name, proxyApp, cores?.app, {
            CONTENDER: contender,
            BASE_URL: mock.baseUrl,
          }),
        );
      }
      const app = (name: string) => apps.get(name)!;

      const seconds = quick ? 1 : 3;
      const rounds = quick ? 1 : 3;
      log('warm-up: 4,000 requests per app (at most 10 s each)');
      const warm = (name: string) => warmUp(app(name), quick ? 500 : 4_000, quick ? 2 : 10);
      for (const name of order) await warm(name);
      await warm('floor-b');
      for (const name of partners) await warm(name);
      for (const name of direct) await warm(name);

      // Part A: req/s and p99, each app alone, contenders alternating, order rotated per round.
      const rps = new Map<ContenderName, number[]>();
      const p99 = new Map<ContenderName, number[]>();
      const bad = new Map<ContenderName, number>();
      const rpsRatio: number[] = [];
      const p99Ratio: number[] = [];
      const upstreamStart = cpuMicros(mock.pid) + cpuMicros(process.pid);
      const wallStart = performance.now();
      for (let round = 0; round < rounds; round++) {
        const rotated = [
          ...order.slice(round % order.length),
          ...order.slice(0, round % order.length),
        ];
        const thisRound = new Map<ContenderName, { rps: number; p99: number }>();
        for (const name of rotated) {
          const result = await load(app(name).url, { seconds });
          log(`round ${round + 1} ${name}: ${fixed(result.rps, 0)} req/s, p99 ${result.p99} ms`);
          thisRound.set(name, result);
          rps.set(name, [...(rps.get(name) ?? []), result.rps]);
          p99.set(name, [...(p99.get(name) ?? []), result.p99]);
          bad.set(name, (bad.get(name) ?? 0) + result.bad);
        }
        const tf = thisRound.get('tokenfetch')!;
        const fl = thisRound.get('floor')!;
        rpsRatio.push(tf.rps / fl.rps);
        p99Ratio.push(tf.p99 / fl.p99);
      }
      const upstreamBusy =
        (cpuMicros(mock.pid) + cpuMicros(process.pid) - upstreamStart) /
        ((performance.now() - wallStart) * 1000);

      // Part B: CPU time per request, pairs pinned to the same core and loaded together.
      const pairs: Array<[string, string]> = [
        ...['floor-b', ...order.filter((name) => name !== 'floor')].map(
          (name): [string, string] => [name, `floor#${name}`],
        ),
        ...(direct.length === 0 ? [] : [[...direct] as [string, string]]),
      ];
      const pairOptions = quick
        ? { warmups: 0, rounds: 1, seconds: 1 }
        : { warmups: 2, rounds: 5, seconds: 3 };
      const cpu = new Map<string, ReturnType<typeof summarizePair>>();
      const measured = await measurePairs(
        pairs.map(([a, b]) => [app(a), app(b)] as const),
        pairOptions,
      );
      for (const [index, [a, b]] of pairs.entries()) {
        const summary = summarizePair(measured[index]!);
        log(
          `cpu ${a} vs ${b}: ${fixed(summary.cpuA, 1)} vs ${fixed(summary.cpuB, 1)} µs/req, ratio ${fixed(summary.ratio, 3)}`,
        );
        cpu.set(a, summary);
      }

      const tfRps = median(rpsRatio);
      const tfP99 = median(p99Ratio);
      const tfCpu = cpu.get('tokenfetch')!;
      const aa = cpu.get('floor-b')!;
      verdict({
        scenario: 1,
        figure: 'proxy: floor CPU/req ÷ tokenfetch CPU/req (≈ req/s ratio on a busy core)',
        value: fixed(1 / tfCpu.ratio, 3),
        target: '≥ 1.2',
        met: 1 / tfCpu.ratio >= 1.2,
      });
      if (direct.length > 0) {
        const change = cpu.get('tokenfetch#new')!;
        verdict({
          scenario: 1,
          figure: `proxy: tokenfetch CPU/req ÷ the baseline's (${baselineDir}), one pair loaded together`,
          value: fixed(change.ratio, 3),
          target: 'report (≤ 1 + the A/A spread: no cost added)',
          met: undefined,
        });
      }
      const limit = cpu.get('undici-limit')!;
      verdict({
        scenario: 1,
        figure:
          'proxy: floor CPU/req ÷ undici-limit CPU/req (the limit of a fetch-compatible path)',
        value: fixed(1 / limit.ratio, 3),
        target: 'report',
        met: undefined,
      });
      verdict({
        scenario: 1,
        figure: 'proxy: tokenfetch ÷ floor req/s (sequential rounds, median)',
        value: fixed(tfRps, 3),
        target: '≥ 0.97',
        met: tfRps >= 0.97,
      });
      verdict({
        scenario: 1,
        figure: 'proxy: tokenfetch ÷ floor p99 (sequential rounds, median)',
        value: fixed(tfP99, 3),
        target: '≤ 1.00',
        met: tfP99 <= 1,
      });

      const label = (name: string) =>
        name === 'floor-b'
          ? 'floor (A/A: 2nd floor process)'
          : name === 'tokenfetch#new'
            ? 'tokenfetch vs tokenfetch-baseline (direct pair: the "floor" columns are the baseline)'
            : name;
      return [
        {
          title: `1. Proxy throughput and latency (Express route → one upstream call; ${rounds} alternating rounds of ${seconds} s, ${32} connections)`,
          header: [
            'contender',
            'req/s (median)',
            'req/s range',
            'p99 ms (median)',
            'req/s ÷ floor',
            'p99 ÷ floor',
            'non-2xx/errors',
          ],
          rows: order.map((name) => {
            const r = rps.get(name)!;
            const p = p99.get(name)!;
            const floorRps = median(rps.get('floor')!);
            const floorP99 = median(p99.get('floor')!);
            return [
              name,
              fixed(median(r), 0),
              `${fixed(min(r), 0)}–${fixed(max(r), 0)}`,
              fixed(median(p), 0),
              name === 'tokenfetch' ? fixed(tfRps, 3) : fixed(median(r) / floorRps, 3),
              name === 'tokenfetch' ? fixed(tfP99, 3) : fixed(median(p) / floorP99, 3),
              String(bad.get(name) ?? 0),
            ];
          }),
          notes: [
            'req/s of sequential runs swings by up to ±30 % on this shared machine (bench/README.md, "Method"); the CPU table below is the steadier figure.',
            `tokenfetch's ratios are medians of per-round ratios (each round runs all contenders back to back); the others' are ratios of medians.`,
            `upstream core (mock upstream + load generator) busy ${fixed(upstreamBusy * 100, 0)} % of the time during these rounds.`,
          ],
        },
        {
          title: `1b. Proxy CPU time per request (pairs pinned to one core, loaded together, pairs taking turns; ${pairOptions.warmups} warm-up + ${pairOptions.rounds} rounds of ${pairOptions.seconds} s, median)`,
          header: [
            'contender',
            'CPU µs/req',
            'floor CPU µs/req (same rounds)',
            'CPU ÷ floor',
            'floor ÷ CPU (≈ req/s ratio)',
            'per-round CPU ÷ floor',
          ],
          rows: pairs.map(([a]) => {
            const s = cpu.get(a)!;
            return [
              label(a),
              fixed(s.cpuA, 1),
              fixed(s.cpuB, 1),
              fixed(s.ratio, 3),
              fixed(1 / s.ratio, 3),
              s.ratios.map((x) => fixed(x, 3)).join(' '),
            ];
          }),
          notes: [
            'Each contender is paired with a floor process of its own, loaded only together with it, so neither app of a pair sat idle while the other worked.',
            `A/A (two floor processes) shows the method's noise on the day: ${fixed(aa.ratio, 3)} (rounds ${aa.ratios.map((x) => fixed(x, 3)).join(', ')}).`,
          ],
        },
      ];
    } finally {
      for (const app of apps.values()) await app.process.stop();
      await mock.close();
    }
  },
};

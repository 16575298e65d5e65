/**
 * `pnpm bench`: every scenario against the same mock upstream on this machine, then one
 * table per scenario and a summary. `--scenario=1,2` (or BENCH_SCENARIOS=1,2) runs a
 * subset, `--quick` a short smoke run; only a full run writes RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describeMachine, loadAverage } from './lib/machine.js';
import type { Scenario, Verdict } from './lib/scenario.js';
import { markdownTable, type Table } from './lib/table.js';
import { canPin } from './lib/taskset.js';
import { proxyThroughput } from './scenarios/s1-proxy.js';
import { middlewareOverhead } from './scenarios/s2-middleware.js';
import { coldStampede } from './scenarios/s3-cold-stampede.js';
import { revocationStorm } from './scenarios/s4-revocation.js';
import { expiryUnderLoad } from './scenarios/s5-expiry.js';
import { fleet } from './scenarios/s6-fleet.js';
import { chaos } from './scenarios/s7-chaos.js';
import { hotPath } from './scenarios/s8-hot-path.js';
import { manyTenants } from './scenarios/s9-many-tenants.js';
import { fleetScale } from './scenarios/s10-fleet-scale.js';
import { tenantsOverRedis } from './scenarios/s11-tenants-redis.js';
import { busyTenantsScenario } from './scenarios/s12-busy-tenants.js';

const scenarios: Scenario[] = [
  proxyThroughput,
  middlewareOverhead,
  coldStampede,
  revocationStorm,
  expiryUnderLoad,
  fleet,
  chaos,
  hotPath,
  manyTenants,
  fleetScale,
  tenantsOverRedis,
  busyTenantsScenario,
];

const args = process.argv.slice(2).filter((arg) => arg !== '--');
const quick = args.includes('--quick');
const scenarioArg =
  args.find((arg) => arg.startsWith('--scenario='))?.slice('--scenario='.length) ??
  (args.includes('--scenario') ? args[args.indexOf('--scenario') + 1] : undefined) ??
  process.env.BENCH_SCENARIOS;
const selected =
  scenarioArg === undefined || scenarioArg === ''
    ? scenarios
    : scenarios.filter((s) => scenarioArg.split(',').map(Number).includes(s.id));
const full = selected.length === scenarios.length && !quick;

const machine = describeMachine();
const started = performance.now();
const load = loadAverage();
const verdicts: Verdict[] = [];
const tables: Table[] = [];
let unhandled = 0;
let failedScenarios = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('[bench] unhandled rejection in the harness:', reason);
});

console.log(
  `tokenfetch bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${load}` +
    `${quick ? ', quick' : ''}${canPin ? '' : ', NOT pinned (taskset unavailable)'}`,
);
for (const scenario of selected) {
  const t0 = performance.now();
  console.log(`\n== ${scenario.id}. ${scenario.title}`);
  try {
    const produced = await scenario.run({
      quick,
      log: (message) => console.log(`   ${message}`),
      verdict: (verdict) => verdicts.push(verdict),
    });
    tables.push(...produced);
    for (const table of produced) console.log(`\n${markdownTable(table)}`);
  } catch (error) {
    failedScenarios++;
    console.error(`   scenario ${scenario.id} failed:`, error);
    tables.push({
      title: `${scenario.id}. ${scenario.title}`,
      header: ['error'],
      rows: [[String(error instanceof Error ? error.message : error)]],
    });
  }
  console.log(`   (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

const seconds = (performance.now() - started) / 1000;
const summary: Table = {
  title: 'Targets',
  header: ['scenario', 'figure', 'value', 'target', 'met'],
  rows: verdicts.map((v) => [
    String(v.scenario),
    v.figure,
    v.value,
    v.target,
    v.met === undefined ? '–' : v.met ? 'yes' : 'NO',
  ]),
};
console.log(`\n${markdownTable(summary)}\n`);
console.log(`total ${seconds.toFixed(0)} s`);

const command = full
  ? 'pnpm bench'
  : `pnpm bench -- ${quick ? '--quick ' : ''}--scenario=${selected.map((s) => s.id).join(',')}`;
const report = [
  '# tokenfetch benchmarks: results',
  '',
  `Written by \`${command}\` (see [README.md](./README.md) for the method).`,
  '',
  `- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, shared with other work (load average ${load} at start)`,
  `- Node ${machine.node}; ${machine.date}; whole run ${Math.round(seconds)} s`,
  `- pinning: ${canPin ? 'apps under test on core 0, mock upstream (and load generator) on core 1' : 'none (taskset unavailable)'}`,
  `- unhandled rejections in the harness process: ${unhandled}`,
  '- kept short: scenario 7 runs 45 s (the issue asks 60 s, allows 30 s); scenario 8b stops short of 200,000 calls after 180 s on a slow day (its table says how many were made); scenario 5 runs the full 20 s',
  '',
  markdownTable(summary),
  '',
  ...tables.flatMap((table) => [markdownTable(table), '']),
].join('\n');
const keptMarker =
  '<!-- Kept by pnpm bench: what follows measures single changes and is not rewritten by a run. -->';
const file = new URL(full ? './RESULTS.md' : './RESULTS.partial.md', import.meta.url);
writeFileSync(file, report + keptSections());
console.log(`written to ${file.pathname}`);
// A scenario that could not run (not one that missed a target) fails the run: CI runs some.
process.exit(failedScenarios === 0 ? 0 : 1);

/**
 * What RESULTS.md holds below `keptMarker`: measurements of one change (a before/after, a
 * baseline), written by hand or by their own scripts (the fetch-suite's). A run rewrites
 * the report above it and carries this over as it is.
 */
function keptSections(): string {
  const previous = new URL('./RESULTS.md', import.meta.url);
  if (!existsSync(previous)) return `\n${keptMarker}\n`;
  const text = readFileSync(previous, 'utf8');
  const start = text.indexOf(keptMarker);
  return start === -1 ? `\n${keptMarker}\n` : `\n${text.slice(start)}`;
}

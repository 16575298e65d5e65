#!/usr/bin/env node
// The mutation check: each mutant of scripts/mutants.catalogue.mjs removes one behaviour
// (one text replaced in one source file), and the tests it names must fail without it.
//
//   node scripts/mutants.mjs                 every mutant; exit 1 if one survives or is stale
//   node scripts/mutants.mjs jitter pool-    only mutants whose id contains one of the words
//   node scripts/mutants.mjs --list          the catalogue, checked against the sources
//   node scripts/mutants.mjs --no-baseline   skip the run of the named tests without mutants
//   node scripts/mutants.mjs --jobs=2        mutants run two at a time (default 1)
//
// A mutant is served to vitest by a plugin (scripts/mutants.vitest.mjs) in place of the file
// on disk: the tree is never written to, so Ctrl-C, a crash or a kill leaves it as it was.
// Each mutant runs only its own test files (`--bail=1`): seconds each, not the whole suite.
// Before any mutant, those test files run once unmutated: a test that already fails would
// "kill" every mutant. A mutant whose text is no longer in its file (exactly once) is stale
// and fails the check, so the catalogue follows the code.
//
// No dependencies beyond the repository's own vitest. The Redis store's mutants need the
// Redis its tests use (REDIS_URL, else 127.0.0.1:6379).
//
// Why not Stryker: @stryker-mutator/core 10 wants Node 22 (this repository supports 20), and
// it generates every mutant an operator can make: thousands over core, most of them run
// against every test that covers the line, hours on two cores, with equivalent mutants to
// sift by hand. A catalogue names the behaviours that matter, each with the tests that
// should hold it, and runs in minutes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import catalogue from './mutants.catalogue.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const config = join(root, 'scripts/mutants.vitest.mjs');
/** A mutant whose tests run longer than this is stopped and counted as killed (a hang). */
const mutantTimeoutMs = 180_000;

const args = process.argv.slice(2);
const flags = new Set(args.filter((arg) => arg.startsWith('--') && !arg.startsWith('--jobs=')));
const words = args.filter((arg) => !arg.startsWith('--'));
const jobsArg = args.find((arg) => arg.startsWith('--jobs='));
const jobs = jobsArg === undefined ? 1 : Number(jobsArg.slice('--jobs='.length));
for (const flag of flags) {
  if (!['--list', '--no-baseline'].includes(flag)) {
    console.error(`unknown option ${flag}`);
    process.exit(2);
  }
}
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error('--jobs wants a positive integer');
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'tokenfetch-mutants-'));
/** The vitest runs in progress, stopped with their process groups on Ctrl-C. */
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    rmSync(scratch, { recursive: true, force: true });
    console.error(`\nstopped (${signal}); the tree was not modified`);
    process.exit(130);
  });
}

try {
  process.exitCode = await main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

async function main() {
  checkCatalogue();
  const selected = catalogue.filter(
    (mutant) => words.length === 0 || words.some((word) => mutant.id.includes(word)),
  );
  if (selected.length === 0) {
    console.error(`no mutant matches ${words.join(' ')}`);
    return 2;
  }
  const stale = selected.filter((mutant) => staleness(mutant) !== undefined);
  if (flags.has('--list')) {
    for (const mutant of selected) {
      const problem = staleness(mutant);
      console.log(`${problem === undefined ? 'ok   ' : 'STALE'} ${mutant.id}: ${mutant.behaviour}`);
      if (problem !== undefined) console.log(`      ${problem}`);
    }
    return stale.length === 0 ? 0 : 1;
  }

  const started = Date.now();
  const runnable = selected.filter((mutant) => !stale.includes(mutant));
  if (!flags.has('--no-baseline') && runnable.length > 0) {
    const tests = [...new Set(runnable.flatMap((mutant) => mutant.tests))];
    console.log(`baseline: ${tests.length} test files without mutants…`);
    const baseline = await runVitest(tests, undefined);
    if (baseline.code !== 0) {
      console.error(baseline.output);
      console.error(
        'the named tests fail without any mutant: fix them first (a test that runs core in a ' +
          'child process loads the built packages: `node scripts/run.mjs pnpm build`)',
      );
      return 2;
    }
    console.log(`baseline passed (${seconds(baseline.ms)})\n`);
  }

  // Run `jobs` at a time; report in catalogue order as soon as each is known.
  const results = new Array(selected.length);
  let reported = 0;
  let next = 0;
  const report = () => {
    while (reported < selected.length && results[reported] !== undefined) {
      const { mutant, status, ms, detail } = results[reported++];
      console.log(
        `${status.padEnd(11)} ${mutant.id.padEnd(36)} ${seconds(ms).padStart(6)}  ${detail}`,
      );
    }
  };
  const worker = async () => {
    while (next < selected.length) {
      const index = next++;
      const mutant = selected[index];
      const problem = staleness(mutant);
      results[index] =
        problem === undefined
          ? await runMutant(mutant)
          : { mutant, status: 'stale', detail: problem, ms: 0 };
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, selected.length) }, worker));

  const count = (status) => results.filter((result) => result.status === status).length;
  const killed = count('killed') + count('timeout');
  const score = (100 * killed) / results.length;
  console.log(
    `\n${killed} of ${results.length} mutants killed (score ${score.toFixed(0)} %), ` +
      `${count('survived')} survived, ${count('stale')} stale, ${count('not reached')} not reached; ` +
      `${seconds(Date.now() - started)} in all`,
  );
  for (const result of results.filter((r) => r.status !== 'killed' && r.status !== 'timeout')) {
    console.log(`  ${result.status}: ${result.mutant.id} — ${result.mutant.behaviour}`);
  }
  return killed === results.length ? 0 : 1;
}

/** Why `mutant` cannot be applied to the sources as they are, or `undefined`. */
function staleness(mutant) {
  const file = join(root, mutant.file);
  if (!existsSync(file)) return `${mutant.file} does not exist`;
  const source = readFileSync(file, 'utf8');
  const at = source.indexOf(mutant.find);
  if (at === -1) return `its text is no longer in ${mutant.file}`;
  if (source.indexOf(mutant.find, at + 1) !== -1) {
    return `its text is in ${mutant.file} more than once`;
  }
  const missing = mutant.tests.filter((test) => !existsSync(join(root, test)));
  if (missing.length > 0) return `no test file ${missing.join(', ')}`;
  return undefined;
}

/** The catalogue's own shape: unique ids, every field there, a replacement that differs. */
function checkCatalogue() {
  const ids = new Set();
  for (const mutant of catalogue) {
    const fields = ['id', 'behaviour', 'file', 'find', 'replace', 'tests'];
    const absent = fields.filter((field) => mutant[field] === undefined);
    if (absent.length > 0 || ids.has(mutant.id) || mutant.find === mutant.replace) {
      throw new Error(`catalogue: mutant ${mutant.id ?? '?'} is malformed or a duplicate`);
    }
    if (!Array.isArray(mutant.tests) || mutant.tests.length === 0) {
      throw new Error(`catalogue: mutant ${mutant.id} names no test file`);
    }
    ids.add(mutant.id);
  }
}

async function runMutant(mutant) {
  const name = mutant.id.replaceAll('/', '_');
  const marker = join(scratch, `${name}.served`);
  const spec = join(scratch, `${name}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      file: join(root, mutant.file),
      find: mutant.find,
      replace: mutant.replace,
      marker,
    }),
  );
  const run = await runVitest(mutant.tests, spec);
  if (!existsSync(marker)) {
    return {
      mutant,
      status: 'not reached',
      detail: `no named test loads ${mutant.file}`,
      ms: run.ms,
    };
  }
  if (run.timedOut) return { mutant, status: 'timeout', detail: 'the tests hung', ms: run.ms };
  if (run.code === 0)
    return { mutant, status: 'survived', detail: 'every test passed', ms: run.ms };
  return { mutant, status: 'killed', detail: firstFailure(run.output), ms: run.ms };
}

/** vitest on `tests`, serving the mutant `spec` describes (none: the plain config). */
function runVitest(tests, spec) {
  const started = Date.now();
  const argv = [vitest, 'run', '--bail=1', '--reporter=dot', '--typecheck.enabled=false'];
  if (spec !== undefined) argv.push('--config', config);
  const child = spawn(process.execPath, [...argv, ...tests], {
    cwd: root,
    env: { ...process.env, ...(spec === undefined ? {} : { TOKENFETCH_MUTANT: spec }) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a hang or Ctrl-C ends vitest's workers with it.
    detached: true,
  });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, mutantTimeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: code ?? 1, output, timedOut, ms: Date.now() - started });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The first failing test vitest names, for the report. */
function firstFailure(output) {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const line = plain.split('\n').find((text) => /^\s*FAIL\s/.test(text));
  if (line === undefined) return 'vitest failed';
  return line
    .replace(/^\s*FAIL\s+/, '')
    .trim()
    .slice(0, 140);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

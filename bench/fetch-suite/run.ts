/**
 * undici's own fetch tests, run with Node's `fetch` and with tokenfetch's `client.fetch`.
 *
 *   pnpm --filter ./bench run fetch-suite -- --undici=/path/to/undici [--mode=node,tokenfetch]
 *     [--files=redirect,abort] [--test-timeout=20] [--timeout=120] [--jobs=2] [--json=FILE]
 *
 * Needs a local checkout of undici (a v7.x tag; `git archive v7.29.0 | tar -x -C DIR`):
 * nothing of it is copied here. Each `test/fetch/*.js` runs once per mode in its own Node
 * process, with swap.mjs preloaded (it puts the mode's `fetch` where the tests call it and
 * records which tests call it) and reporter.mjs reporting each test. Only tests that call
 * `fetch` count, less the ones in exclusions.ts (tokenfetch's documented refusals); the
 * causes of client.fetch's failures are named in causes.ts. Writes fetch-suite/RESULTS.md
 * (every test) and the summary in bench/RESULTS.md. A subset (`--files`) only prints.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { causeOf, type Cause } from './causes.js';
import { excludedBecause } from './exclusions.js';
import { sectionEnd, sectionStart } from './section.js';

type Mode = 'node' | 'tokenfetch' | 'tokenfetch-dispatcher';
const allModes: Mode[] = ['node', 'tokenfetch', 'tokenfetch-dispatcher'];
const modeTitles: Record<Mode, string> = {
  node: "Node's global fetch",
  tokenfetch: 'client.fetch',
  'tokenfetch-dispatcher': 'client.fetch, init.dispatcher → `dispatcher` option',
};

interface TestResult {
  name: string;
  passed: boolean;
  skipped: boolean;
  error?: string;
}

interface FileRun {
  results: TestResult[];
  callers: Set<string>;
  /** Why the file's process ended abnormally, if it did. */
  ended?: string;
}

/** reporter.mjs's line once every top-level test of the file has been reported. */
const doneLine = '{"done":true}';
const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.dirname(here);
const args = new Map(
  process.argv
    .slice(2)
    .filter((arg) => arg.startsWith('--'))
    .map((arg) => {
      const [key, ...value] = arg.slice(2).split('=');
      return [key!, value.join('=')] as const;
    }),
);
const undiciDir = path.resolve(args.get('undici') || process.env.UNDICI_DIR || '');
if (!existsSync(path.join(undiciDir, 'test', 'fetch'))) {
  console.error('fetch-suite: --undici=DIR (or UNDICI_DIR) must name a checkout of undici (v7.x)');
  process.exit(2);
}
const undiciVersion = (
  JSON.parse(readFileSync(path.join(undiciDir, 'package.json'), 'utf8')) as { version: string }
).version;
const modes = (args.get('mode') || allModes.join(',')).split(',') as Mode[];
const fileFilter = args.get('files')?.split(',').filter(Boolean);
const timeoutMs = Number(args.get('timeout') || 120) * 1000;
const testTimeoutMs = Number(args.get('test-timeout') || 20) * 1000;
const jsonFile = args.get('json');
const jobs = Number(args.get('jobs') || 2);
const complete = fileFilter === undefined && allModes.every((mode) => modes.includes(mode));

// The packages a user installs: @tokenfetch/core from its built dist (the script builds it).
const requireHere = createRequire(path.join(benchDir, 'package.json'));
const coreUrl = pathToFileURL(requireHere.resolve('@tokenfetch/core')).href;
// undici's tests need a few of its dev dependencies: the bench has them.
const nodePath = path.join(benchDir, 'node_modules');

const files = readdirSync(path.join(undiciDir, 'test', 'fetch'))
  .filter((name) => name.endsWith('.js'))
  .filter((name) => fileFilter === undefined || fileFilter.some((part) => name.includes(part)))
  .sort();

console.log(
  `fetch-suite: undici ${undiciVersion} (${undiciDir}), ${files.length} files, modes ${modes.join(', ')}, Node ${process.version}`,
);
const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), 'fetch-suite-'));
const runs = new Map<string, FileRun>();
const queue = modes.flatMap((mode) => files.map((file) => ({ mode, file })));
await Promise.all(
  Array.from({ length: jobs }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      runs.set(`${next.mode} ${next.file}`, await runFile(next.mode, next.file));
    }
  }),
);
rmSync(work, { recursive: true, force: true });

/** One test file in one mode, in its own process. */
function runFile(mode: Mode, file: string): Promise<FileRun> {
  const callsFile = path.join(work, `${mode}-${file}.calls`);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        // long-lived-abort-controller.js calls gc().
        '--expose-gc',
        '--import',
        pathToFileURL(path.join(here, 'swap.mjs')).href,
        `--test-reporter=${pathToFileURL(path.join(here, 'reporter.mjs')).href}`,
        '--test-reporter-destination=stdout',
        path.join('test', 'fetch', file),
      ],
      {
        cwd: undiciDir,
        env: {
          ...process.env,
          NODE_PATH: nodePath,
          FETCH_SUITE_MODE: mode,
          FETCH_SUITE_UNDICI: undiciDir,
          FETCH_SUITE_CALLS: callsFile,
          FETCH_SUITE_CORE: coreUrl,
          FETCH_SUITE_TEST_TIMEOUT_MS: String(testTimeoutMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Every test reported: what is left open (a server, a socket) would only keep it alive.
      if (stdout.includes(doneLine)) setTimeout(() => child.kill('SIGKILL'), 500).unref();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const results = stdout
        .split('\n')
        .filter((line) => line.startsWith('{') && line !== doneLine)
        .map((line) => JSON.parse(line) as TestResult);
      const callers = new Set(
        existsSync(callsFile)
          ? readFileSync(callsFile, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((line) => JSON.parse(line) as string)
          : [],
      );
      const ended = timedOut
        ? `timed out after ${timeoutMs / 1000} s`
        : results.length === 0 && code !== 0 && !stdout.includes(doneLine)
          ? `exited ${code ?? signal}: ${lastLine(stderr)}`
          : undefined;
      const passed = results.filter((result) => result.passed).length;
      console.log(
        `  ${mode.padEnd(21)} ${file.padEnd(40)} ${passed}/${results.length}${ended ? ` (${ended})` : ''}`,
      );
      resolve({ results, callers, ...(ended === undefined ? {} : { ended }) });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  // The thrown error's own line (`Error: Cannot find module …`), not the source line above it.
  const thrown =
    lines.find((line) => /^\w*Error: /.test(line)) ?? lines.find((line) => /Error/.test(line));
  return (thrown ?? lines.at(-1) ?? '').slice(0, 200);
}

// --- one row per test that calls fetch

interface Row {
  file: string;
  name: string;
  results: Partial<Record<Mode, TestResult>>;
  excluded?: string;
}

const rows: Row[] = [];
const skippedInNode: string[] = [];
for (const file of files) {
  const names = new Set<string>();
  const called = new Set<string>();
  for (const mode of modes) {
    const run = runs.get(`${mode} ${file}`)!;
    for (const result of run.results) names.add(result.name);
    for (const caller of run.callers) called.add(caller);
  }
  for (const name of names) {
    if (!called.has(name)) continue;
    const results: Row['results'] = {};
    for (const mode of modes) {
      const run = runs.get(`${mode} ${file}`)!;
      results[mode] = run.results.find((result) => result.name === name) ?? {
        name,
        passed: false,
        skipped: false,
        error: `not reported: the file ${run.ended ?? 'ended before it'}`,
      };
    }
    if (Object.values(results).some((result) => result.skipped)) {
      skippedInNode.push(`${file} › ${name}`);
      continue;
    }
    const excluded = excludedBecause(file, name);
    rows.push({ file, name, results, ...(excluded === undefined ? {} : { excluded }) });
  }
}

const counted = rows.filter((row) => row.excluded === undefined);
const rate = (mode: Mode) => {
  const passed = counted.filter((row) => row.results[mode]?.passed).length;
  return { passed, percent: (100 * passed) / Math.max(counted.length, 1) };
};

// --- the report

const lines: string[] = [];
const out = (line = '') => lines.push(line);
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const seconds = Math.round((Date.now() - started) / 1000);
out(
  `- undici ${undiciVersion}'s \`test/fetch/*.js\` (${files.length} files), Node ${process.version}, ${date}, ${seconds} s`,
);
out(
  `- counted: the ${counted.length} tests that call \`fetch\` and run on this Node (of ${rows.length + skippedInNode.length}: ${rows.length - counted.length} excluded as documented refusals, ${skippedInNode.length} skipped by the suite itself)`,
);
out();
out('| fetch under test | passed | of | rate |');
out('| --- | --- | --- | --- |');
for (const mode of modes) {
  const { passed, percent } = rate(mode);
  out(`| ${modeTitles[mode]} | ${passed} | ${counted.length} | ${percent.toFixed(1)} % |`);
}
const summary = [...lines];

if (modes.includes('tokenfetch')) {
  out();
  out("### client.fetch's failures by cause");
  out();
  out(
    'Tests Node passes and `client.fetch` fails (a test both fail is listed under "both" below).',
  );
  out();
  const groups = new Map<string, { cause: Cause | undefined; rows: Row[] }>();
  for (const row of counted) {
    const mine = row.results.tokenfetch!;
    if (mine.passed || !row.results.node?.passed) continue;
    const cause = causeOf(row.file, row.name);
    const key = cause?.title ?? 'not yet classified';
    const group = groups.get(key) ?? { cause, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].rows.length - a[1].rows.length);
  out('| cause | tests | with init.dispatcher mapped |');
  out('| --- | --- | --- |');
  for (const [title, group] of sorted) {
    const mapped = group.rows.filter((row) => row.results['tokenfetch-dispatcher']?.passed).length;
    out(
      `| ${title} | ${group.rows.length} | ${modes.includes('tokenfetch-dispatcher') ? `${mapped} pass` : '–'} |`,
    );
  }
  for (const [title, group] of sorted) {
    out();
    out(`**${title}**${group.cause?.note ? ` — ${group.cause.note}` : ''}`);
    out();
    for (const row of group.rows) {
      out(`- \`${row.file}\` › ${row.name}: ${row.results.tokenfetch!.error ?? 'failed'}`);
    }
  }
  const both = counted.filter((row) => !row.results.node?.passed);
  if (both.length > 0) {
    out();
    out("**Failed by Node's fetch** (counted for both)");
    out();
    for (const row of both) {
      const verdicts = modes.map(
        (mode) => `${mode} ${row.results[mode]?.passed ? 'pass' : 'fail'}`,
      );
      out(
        `- \`${row.file}\` › ${row.name} (${verdicts.join(', ')}): ${row.results.node?.error ?? ''}`,
      );
    }
  }
}

out();
out('### Left out of both: documented refusals of client.fetch');
out();
for (const row of rows.filter((row) => row.excluded !== undefined)) {
  out(`- \`${row.file}\` › ${row.name}: ${row.excluded}`);
}
const broken = [...runs.entries()].filter(
  ([, run]) => run.ended !== undefined && run.results.length === 0,
);
if (broken.length > 0) {
  out();
  out('### Files that did not run (none of their tests is counted)');
  out();
  for (const [key, run] of broken) out(`- ${key}: ${run.ended}`);
}
if (skippedInNode.length > 0) {
  out();
  out('### Skipped by the suite itself on this Node');
  out();
  for (const name of skippedInNode) out(`- ${name}`);
}
out();
out('### Every counted test');
out();
out(`| file | test | ${modes.join(' | ')} |`);
out(`| --- | --- | ${modes.map(() => '---').join(' | ')} |`);
for (const row of counted) {
  const cells = modes.map((mode) => (row.results[mode]?.passed ? 'pass' : 'FAIL'));
  out(`| ${row.file} | ${row.name.replace(/\|/g, '\\|')} | ${cells.join(' | ')} |`);
}

console.log('\n' + summary.join('\n'));
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(rows, null, 1));
if (complete) {
  const header = [
    "# undici's fetch tests through client.fetch",
    '',
    'Written by `pnpm --filter ./bench run fetch-suite -- --undici=DIR` (see [../README.md](../README.md#undicis-fetch-tests)).',
    '',
  ];
  await writeMarkdown(path.join(here, 'RESULTS.md'), [...header, ...lines, ''].join('\n'));
  await updateBenchResults(summary);
  console.log(
    `\nwrote ${path.relative(process.cwd(), path.join(here, 'RESULTS.md'))} and the summary in bench/RESULTS.md`,
  );
} else {
  console.log('\n(a subset: RESULTS.md files left as they are)\n');
  console.log(lines.slice(summary.length).join('\n'));
}

/** Replaces the fetch-suite section of bench/RESULTS.md (kept there when `pnpm bench` rewrites it). */
async function updateBenchResults(summary: string[]): Promise<void> {
  const file = path.join(benchDir, 'RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const section = fetchSuiteSection(summary);
  const start = text.indexOf(sectionStart);
  const end = text.indexOf(sectionEnd);
  const next =
    start !== -1 && end !== -1
      ? text.slice(0, start) + section + text.slice(end + sectionEnd.length)
      : text.trimEnd() + '\n\n' + section + '\n';
  await writeMarkdown(file, next);
}

/** Writes Markdown as the repository's prettier formats it (`pnpm lint` checks these files). */
async function writeMarkdown(file: string, text: string): Promise<void> {
  const options = await prettier.resolveConfig(file);
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

function fetchSuiteSection(summary: string[]): string {
  return [
    sectionStart,
    "### undici's fetch tests: Node's fetch and client.fetch",
    '',
    'Written by `pnpm --filter ./bench run fetch-suite -- --undici=DIR`; every test and the failures by cause: [fetch-suite/RESULTS.md](./fetch-suite/RESULTS.md).',
    '',
    ...summary,
    sectionEnd,
  ].join('\n');
}

#!/usr/bin/env node
// The READMEs' code blocks, checked the way a new user meets them. .ci/run calls it after
// packing the tarballs into .tarballs/:
//
//   node test/snippets/check.mjs [--keep]
//
// 1. Every ```ts / ```js block of README.md and packages/*/README.md is a snippet, a file of
//    one fresh consumer project ("type": "module") outside this repository, in a folder of
//    its own. extract.mjs says how blocks are read, and which <!-- snippet: … --> directives
//    make a fragment compile, skip a block (with a reason), or run it.
// 2. One `npm install` of the tarballs, the packages the READMEs' `npm install` lines name
//    (at their latest versions, as a new user gets them), `typescript` (what
//    `npm i -D typescript` installs today) and @types/node. TypeScript 5.9 is this
//    repository's own.
// 3. Each package a snippet imports must be installed by an `npm install` line of its
//    README (named there, or a peer npm adds), or of the README of a @tokenfetch package it
//    imports; a package with no types of its own needs its @types package there too.
// 4. tsc: strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess,
//    verbatimModuleSyntax, module nodenext, under the latest TypeScript and 5.9; and once
//    with moduleResolution bundler. Errors point at the README's lines.
// 5. The snippets marked `run` or `serve` run against `tokenfetch-mock`, with their API_*
//    loaded as the READMEs say: the mock writes them (`--write-env .env`) and the snippet
//    starts with `node --env-file=.env`. A `run` must exit with 0; a `serve` must listen
//    and answer its path with a 2xx (listen-on-free-port.mjs moves it to a free port).
//
// It prints a line per step and a summary, and exits with 1 if anything failed. --keep
// leaves the consumer project in place and prints where it is.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { extractSnippets, importedPackages, installedPackages } from './extract.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const keep = process.argv.includes('--keep');
const started = Date.now();
const say = (line) => console.log(`[snippets] ${line}`);
const failures = [];
let work; // the consumer project's folder, once made
let latest = 'TypeScript (latest)';
let older = 'TypeScript 5.9';

// 1. The blocks.
const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages'))
    .sort()
    .map((name) => `packages/${name}/README.md`)
    .filter((path) => existsSync(join(root, path))),
];
const texts = new Map(readmes.map((path) => [path, readFileSync(join(root, path), 'utf8')]));
const snippets = [];
const skipped = [];
for (const [path, text] of texts) {
  const found = extractSnippets(text, path);
  failures.push(...found.problems);
  skipped.push(...found.skipped);
  for (const snippet of found.snippets) {
    const owner = path === 'README.md' ? 'readme' : path.split('/')[1];
    snippets.push({ ...snippet, id: `${owner}-L${snippet.line - 1}` });
  }
}

// 2. The consumer project: one `npm install` of the tarballs, what the READMEs' install
// lines name, the latest TypeScript and @types/node.
const tarballs = readdirSync(join(root, '.tarballs')).filter((name) => name.endsWith('.tgz'));
const ours = new Map(
  tarballs.map((name) => [`@tokenfetch/${name.replace(/^tokenfetch-|-\d.*\.tgz$/g, '')}`, name]),
);
const installs = new Map([...texts].map(([path, text]) => [path, installedPackages(text)]));
const thirdParty = new Set();
for (const [path, packages] of installs) {
  for (const name of packages) {
    if (ours.has(name)) continue;
    // Never from the registry: that would test someone else's package under our name.
    if (name.startsWith('@tokenfetch/'))
      failures.push(`${path}: installs ${name}, no package here`);
    else thirdParty.add(name);
  }
}
work = await mkdtemp(join(tmpdir(), 'tokenfetch-snippets-'));
await writeFile(
  join(work, 'package.json'),
  JSON.stringify({ name: 'readme-snippets', private: true, type: 'module' }, null, 2),
);
say(
  `npm install: the ${tarballs.length} tarballs, ${[...thirdParty].sort().join(' ')}, typescript`,
);
await run(
  'npm',
  [
    'install',
    '--no-audit',
    '--no-fund',
    '--no-package-lock',
    '--loglevel=error',
    ...tarballs.map((name) => join(root, '.tarballs', name)),
    ...thirdParty,
    'typescript', // what `npm i -D typescript` installs today
    '@types/node',
  ],
  { cwd: work },
);

// 3. What each snippet may import: what an npm install line of its README installs (the
// packages it names, and their peers, which npm adds), or of the README of a @tokenfetch
// package it imports (the root README's snippets come from those). A package without
// types of its own needs its @types package there too.
for (const snippet of snippets) {
  const code = [...snippet.prelude, snippet.code].join('\n');
  snippet.imports = [...importedPackages(code)];
  const sources = [snippet.file];
  for (const name of snippet.imports) {
    if (name.startsWith('@tokenfetch/')) sources.push(`packages/${name.slice(12)}/README.md`);
  }
  const allowed = new Set();
  for (const readme of sources) {
    for (const name of installs.get(readme) ?? []) {
      allowed.add(name);
      for (const peer of requiredPeers(name)) allowed.add(peer);
    }
  }
  for (const name of snippet.imports) {
    if (name.startsWith('@tokenfetch/') && !ours.has(name)) {
      failures.push(`${where(snippet)}: imports ${name}, which is no package of this repository`);
    } else if (!allowed.has(name)) {
      failures.push(
        `${where(snippet)}: imports ${name}, which no npm install line of ${snippet.file} installs`,
      );
    } else {
      const types = typesPackage(name);
      if (types !== undefined && !allowed.has(types)) {
        failures.push(
          `${where(snippet)}: imports ${name}, which has no types of its own: an install line needs ${types}`,
        );
      }
    }
  }
}

// 4. Type-check.
for (const snippet of snippets) {
  const folder = join(work, 'src', snippet.id);
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, `index${snippet.extension}`),
    [...snippet.prelude, snippet.code].join('\n'),
  );
  for (const { name, path } of snippet.files) await copyFile(join(root, path), join(folder, name));
}
// NestJS's parameter decorators need experimentalDecorators (its README says so); the other
// snippets have no decorators, so one program serves all.
const compilerOptions = {
  target: 'ES2022',
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  experimentalDecorators: true,
  moduleDetection: 'force',
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  types: ['node'],
};
const configs = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', rootDir: 'src', outDir: 'dist' },
  bundler: { module: 'esnext', moduleResolution: 'bundler', noEmit: true },
};
for (const [name, options] of Object.entries(configs)) {
  const config = { compilerOptions: { ...compilerOptions, ...options }, include: ['src'] };
  await writeFile(join(work, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
}
latest = `TypeScript ${version('typescript')}`;
// TypeScript 5.9: this repository's own (package.json pins ~5.9.3), not a second download.
// A compiler resolves a project's imports and types from the project, wherever it lives.
const olderTsc = join(root, 'node_modules/typescript/bin/tsc');
older = `TypeScript ${JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version}`;
say(`npx tsc --version: ${(await capture('npx', ['tsc', '--version'], { cwd: work })).trim()}`);
// TypeScript 7 (native, threaded) checks twice while 5.9 checks once; the nodenext check
// under 7 also emits dist/, which step 5 runs.
const tsc = (label, bin, config) => async () => {
  const begun = Date.now();
  const output = await capture(
    process.execPath,
    [bin, '-p', `tsconfig.${config}.json`, '--pretty', 'false'],
    {
      cwd: work,
      allowFailure: true,
    },
  );
  const seconds = ((Date.now() - begun) / 1000).toFixed(1);
  say(`tsc (${label}, ${config}): ${output.trim() === '' ? 'ok' : 'errors'}, ${seconds} s`);
  if (output.trim() !== '') failures.push(`tsc (${label}, ${config}):\n${readmeLines(output)}`);
};
await Promise.all([
  tsc(older, olderTsc, 'nodenext')(),
  (async () => {
    await tsc(latest, 'node_modules/typescript/bin/tsc', 'nodenext')();
    await tsc(latest, 'node_modules/typescript/bin/tsc', 'bundler')();
  })(),
]);
if (failures.length > 0) finish();

// 5. Run.
const runnable = snippets.filter((snippet) => snippet.run !== undefined);
if (runnable.length > 0) {
  const mock = await startMock();
  const queue = [...runnable];
  const worker = async () => {
    for (let snippet = queue.shift(); snippet !== undefined; snippet = queue.shift()) {
      const begun = Date.now();
      const problem = await runSnippet(snippet);
      const seconds = ((Date.now() - begun) / 1000).toFixed(1);
      const what = snippet.run.kind === 'serve' ? `serve, GET ${snippet.run.path}` : 'run';
      say(`${where(snippet)} (${what}): ${problem === undefined ? 'ok' : 'FAILED'}, ${seconds} s`);
      if (problem !== undefined) failures.push(`${where(snippet)}: ${problem}`);
    }
  };
  try {
    // Three at a time: each is mostly Node loading modules, and the servers' ports are free ones.
    await Promise.all([worker(), worker(), worker()]);
  } finally {
    mock.kill('SIGTERM');
  }
}
finish();

function finish() {
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const served = snippets.filter((snippet) => snippet.run?.kind === 'serve').length;
  const ran = snippets.filter((snippet) => snippet.run !== undefined).length;
  for (const { file, line, reason } of skipped) say(`skipped ${file}:${line}: ${reason}`);
  if (failures.length > 0) {
    for (const failure of failures) console.error(`\n${failure}`);
    console.error(
      `\n[snippets] FAILED: ${failures.length} problem(s) in ${snippets.length} snippets (${seconds} s)`,
    );
  } else {
    say(
      `${snippets.length} snippets of ${readmes.length} READMEs checked under ${latest} and ${older} ` +
        `(nodenext; bundler under the first); ${ran} run (${served} of them servers); ${skipped.length} skipped; ${seconds} s`,
    );
  }
  if (typeof work === 'string') {
    if (keep) say(`the consumer project: ${work}`);
    // In the background: on a busy machine removing node_modules takes longer than the checks.
    else spawn('rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref();
  }
  process.exit(failures.length > 0 ? 1 : 0);
}

/** README.md:12 for a snippet, its block's first code line. */
function where(snippet) {
  return `${snippet.file}:${snippet.line}`;
}

/** tsc's `src/<id>/index.ts(3,5): error …` lines, with the README's file and line. */
function readmeLines(output) {
  return output
    .trim()
    .split('\n')
    .map((line) => {
      const match = /^src\/([^/]+)\/index\.\w+\((\d+),(\d+)\): (.*)$/.exec(line);
      const snippet = match && snippets.find((s) => s.id === match[1]);
      if (!snippet) return `  ${line}`;
      const n = Number(match[2]);
      const readmeLine =
        n <= snippet.prelude.length
          ? snippet.preludeLine + n - 1
          : snippet.line + n - snippet.prelude.length - 1;
      const part = n <= snippet.prelude.length ? ' (its prelude)' : '';
      return `  ${snippet.file}:${readmeLine}:${match[3]}${part}: ${match[4]}`;
    })
    .join('\n');
}

/** The peers of an installed package that are not optional: npm installs them with it. */
function requiredPeers(name) {
  const path = join(work, 'node_modules', name, 'package.json');
  if (!existsSync(path)) return [];
  const { peerDependencies = {}, peerDependenciesMeta = {} } = JSON.parse(
    readFileSync(path, 'utf8'),
  );
  return Object.keys(peerDependencies).filter((peer) => !peerDependenciesMeta[peer]?.optional);
}

/**
 * `@types/X` when package X ships no types, else undefined. Types are a `types` field or
 * condition, or a declaration file beside an entry point (`index.mjs` → `index.d.mts`).
 */
function typesPackage(name) {
  const folder = join(work, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  const entries = ['index.js', manifest.main];
  const walk = (value) => {
    if (typeof value === 'string') entries.push(value);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'types') return true;
        if (walk(inner)) return true;
      }
    }
    return false;
  };
  if (manifest.types || manifest.typings || walk(manifest.exports)) return undefined;
  const declarations = entries
    .filter((entry) => typeof entry === 'string')
    .map((entry) => entry.replace(/\.([cm]?)js$/, '.d.$1ts'));
  if (declarations.some((file) => file.includes('.d.') && existsSync(join(folder, file)))) {
    return undefined;
  }
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}

function version(name) {
  return JSON.parse(readFileSync(join(work, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** `tokenfetch-mock --port 0 --write-env .env`, as a user starts it; resolves once it listens. */
async function startMock() {
  const child = spawn(
    join(work, 'node_modules/.bin/tokenfetch-mock'),
    ['--port', '0', '--write-env', '.env'],
    {
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 20_000;
  while (!output.includes('Press Ctrl+C')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      failures.push(`tokenfetch-mock did not start:\n${output}`);
      finish();
    }
    await sleep(50);
  }
  say(`tokenfetch-mock: ${/listening on (\S+)/.exec(output)?.[1]}, API_* in .env`);
  return child;
}

/**
 * Runs a compiled snippet with `node --env-file=.env` and the listen-on-free-port preload.
 * Resolves with what went wrong, or undefined.
 */
async function runSnippet(snippet) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('API_') && name !== 'PORT'),
  );
  env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  env.XDG_CACHE_HOME = join(work, 'cache');
  const preload = pathToFileURL(
    join(dirname(fileURLToPath(import.meta.url)), 'listen-on-free-port.mjs'),
  ).href;
  const entry = join('dist', snippet.id, 'index.js');
  const child = spawn(process.execPath, ['--env-file=.env', '--import', preload, entry], {
    cwd: work,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => (output += chunk);
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const exited = once(child, 'exit');
  const timeout = (ms) => sleep(ms).then(() => 'timeout');
  const tail = () => {
    const lines = output.trim() === '' ? [] : output.trim().split('\n').slice(-15);
    return lines.map((line) => `\n    ${line}`).join('');
  };
  try {
    if (snippet.run.kind === 'run') {
      const outcome = await Promise.race([exited, timeout(30_000)]);
      if (outcome === 'timeout') return `still running after 30 s${tail()}`;
      const [code, signal] = outcome;
      return code === 0 ? undefined : `exited with ${code ?? signal}${tail()}`;
    }
    const deadline = Date.now() + 30_000;
    let port;
    while ((port = /\[snippet\] listening on port (\d+)/.exec(output)?.[1]) === undefined) {
      if (child.exitCode !== null)
        return `exited with ${child.exitCode} instead of serving${tail()}`;
      if (Date.now() > deadline) return `did not listen within 30 s${tail()}`;
      await sleep(50);
    }
    const response = await fetch(`http://127.0.0.1:${port}${snippet.run.path}`, {
      signal: globalThis.AbortSignal.timeout(15_000),
    }).catch((error) => error);
    if (response instanceof Error) return `GET ${snippet.run.path}: ${response.message}${tail()}`;
    const body = await response.text();
    if (!response.ok)
      return `GET ${snippet.run.path} answered ${response.status}: ${body.slice(0, 300)}${tail()}`;
    return undefined;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited, timeout(5_000)]);
      if (stopped === 'timeout') child.kill('SIGKILL');
    }
  }
}

/** Runs a command with its output shown; a failure ends the check. */
async function run(file, args, options) {
  const child = spawn(file, args, { stdio: 'inherit', ...options });
  const [code] = await once(child, 'exit');
  if (code !== 0) {
    failures.push(`${file} ${args.slice(0, 2).join(' ')} … exited with ${code}`);
    finish();
  }
}

/** Runs a command and resolves with its stdout and stderr. */
async function capture(file, args, { allowFailure = false, ...options }) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const [code] = await once(child, 'close');
  if (code !== 0 && !allowFailure)
    throw new Error(`${file} ${args.join(' ')} exited with ${code}:\n${output}`);
  return output;
}

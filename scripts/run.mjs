#!/usr/bin/env node
// `npm start` and `npm test` on a fresh clone, with nothing but Node and npm.
//
//   node scripts/run.mjs start          the Express example on the embedded mock upstream
//   node scripts/run.mjs test [ARG…]    build, then the whole suite (ARGs go to vitest)
//   node scripts/run.mjs install        only the install step below
//   node scripts/run.mjs pnpm ARG…      the pinned pnpm, for CI steps (installs nothing else)
//
// The install step, skipped when already done:
//   1. pnpm at the exact version `packageManager` pins in package.json. When this script
//      runs under that pnpm (`pnpm start`, `pnpm test`) it is used as is; otherwise it is
//      installed with npm into node_modules/.cache/tokenfetch-bootstrap/, inside the
//      clone: never a global install.
//   2. The workspace's dependencies, from the lockfile (`pnpm install --frozen-lockfile`);
//      done again only when pnpm-lock.yaml is newer than node_modules/.modules.yaml.
//
// `test` also sees to Redis, which the Redis store's suites need: the Redis at REDIS_URL,
// else one answering at 127.0.0.1:6379, else a private `redis-server` started on a free
// port for this run (and stopped after it). With none possible those suites are left out
// of the run, and the output says so, loudly, before and after; with CI set they run and
// fail instead.
//
// No dependencies: it runs before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [command, ...args] = process.argv.slice(2);
const say = (line) => console.error(`[tokenfetch] ${line}`);
const redisSuites = 'packages/redis/test/**';

checkNode();
const version = pinnedPnpm();
const env = { ...process.env };
/** The pnpm to run: the one running this script if it is the pinned one, else our copy. */
let pnpmScript;

switch (command) {
  case 'start':
    await install();
    process.exitCode = await pnpm(['--filter', './examples/express', 'run', 'start']);
    break;
  case 'test':
    await install();
    process.exitCode = await test(args);
    break;
  case 'install':
    await install();
    break;
  case 'pnpm':
    await ensurePnpm();
    // In the caller's directory: `cd packages/core && node ../../scripts/run.mjs pnpm pack`.
    process.exitCode = await run(process.execPath, [pnpmScript, ...args], { cwd: process.cwd() });
    break;
  default:
    say('usage: node scripts/run.mjs start | test [VITEST ARG…] | install | pnpm ARG…');
    process.exitCode = 2;
}

/** Node ^20.19.0 || >=22.12.0, where require() of ESM works (the packages' engines). */
function checkNode() {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if ((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22) return;
  say(`Node ${process.versions.node} is too old: this repository needs ^20.19.0 || >=22.12.0`);
  process.exit(1);
}

/** The pnpm version package.json pins (`"packageManager": "pnpm@10.34.9"`). */
function pinnedPnpm() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(pkg.packageManager ?? '');
  if (match === null) throw new Error('package.json has no "packageManager": "pnpm@x.y.z"');
  return match[1];
}

async function ensurePnpm() {
  const agent = process.env.npm_config_user_agent ?? '';
  const execPath = process.env.npm_execpath ?? '';
  if (agent.startsWith(`pnpm/${version} `) && /pnpm\.c?js$/.test(execPath)) {
    pnpmScript = execPath;
    return;
  }
  const prefix = join(root, 'node_modules', '.cache', 'tokenfetch-bootstrap', `pnpm@${version}`);
  pnpmScript = join(prefix, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  // Scripts that pnpm runs (the root `build` runs `pnpm --recursive …`) find this pnpm.
  env.PATH = [join(prefix, 'node_modules', '.bin'), env.PATH].join(delimiter);
  if (existsSync(pnpmScript)) return;
  say(`installing pnpm ${version} into ${prefix} (first run only)`);
  mkdirSync(prefix, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const code = await run(npm, [
    'install',
    '--prefix',
    prefix,
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    `pnpm@${version}`,
  ]);
  if (code !== 0 || !existsSync(pnpmScript)) {
    say(`could not install pnpm ${version} with npm (exit ${code})`);
    process.exit(1);
  }
}

/** pnpm, then the workspace's dependencies unless they are newer than the lockfile. */
async function install() {
  await ensurePnpm();
  const marker = join(root, 'node_modules', '.modules.yaml');
  const lockfile = join(root, 'pnpm-lock.yaml');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lockfile).mtimeMs) return;
  say('installing the dependencies from pnpm-lock.yaml');
  const code = await pnpm(['install', '--frozen-lockfile']);
  if (code !== 0) process.exit(code);
  // pnpm leaves the marker alone when nothing changed: mark this lockfile as installed.
  const now = new Date();
  utimesSync(marker, now, now);
}

function pnpm(pnpmArgs) {
  return run(process.execPath, [pnpmScript, ...pnpmArgs]);
}

/** Runs a command in the repository with inherited stdio; resolves with its exit code. */
function run(file, fileArgs, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(file, fileArgs, { cwd: root, env, stdio: 'inherit', ...options });
    // Ctrl+C reaches the whole process group: let the child end, then report its code.
    const ignore = () => {};
    process.on('SIGINT', ignore).on('SIGTERM', ignore);
    const done = (code) => {
      process.off('SIGINT', ignore).off('SIGTERM', ignore);
      resolve(code);
    };
    child.on('error', (error) => {
      say(`${file}: ${error.message}`);
      done(1);
    });
    child.on('close', (code, signal) => done(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

async function test(vitestArgs) {
  const redis = await provideRedis();
  const leftOut = redis.url === undefined && !process.env.CI;
  if (redis.url !== undefined) env.REDIS_URL = redis.url;
  if (leftOut)
    banner(`LEFT OUT: the Redis store's suites (${redisSuites}): ${redis.why}`, redis.fix);
  if (redis.url === undefined && process.env.CI) {
    say(`${redis.why}: with CI set, the Redis suites run and fail`);
  }
  try {
    const built = await pnpm(['run', 'build']);
    if (built !== 0) return built;
    // Coverage thresholds hold for the whole suite, not for a filtered part of it.
    const filtered = vitestArgs.some((arg) => !arg.startsWith('-'));
    return await pnpm([
      'exec',
      'vitest',
      'run',
      ...(filtered ? [] : ['--coverage']),
      ...(leftOut ? ['--exclude', redisSuites] : []),
      ...vitestArgs,
    ]);
  } finally {
    await redis.stop();
    if (leftOut) banner(`LEFT OUT of this run: the Redis store's suites: ${redis.why}`, redis.fix);
  }
}

function banner(line, fix) {
  const rule = '!'.repeat(Math.min(100, line.length + 4));
  console.error(`\n${rule}\n!!! ${line}\n!!! ${fix}\n${rule}\n`);
}

/** The Redis for this run: `{ url, stop }`, or `{ why, fix, stop }` when there is none. */
async function provideRedis() {
  const none = async () => {};
  if (process.env.REDIS_URL) {
    const url = process.env.REDIS_URL;
    if (await answersPing(url)) return { url, stop: none };
    return {
      why: `nothing answers at REDIS_URL (${url})`,
      fix: 'Start that Redis, or unset REDIS_URL to use 127.0.0.1:6379 or a private redis-server.',
      stop: none,
    };
  }
  const shared = 'redis://127.0.0.1:6379';
  if (await answersPing(shared)) return { url: shared, stop: none };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return {
      why: 'no Redis at 127.0.0.1:6379 and no redis-server installed',
      fix: 'Install redis-server (this script starts its own), or set REDIS_URL, to run them.',
      stop: none,
    };
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  say(`starting a private redis-server on port ${port} for this run`);
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', cwd: root },
  );
  const exited = new Promise((resolve) => server.on('exit', resolve));
  const stop = async () => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await exited;
  };
  // An interrupted run stops it too.
  process.once('exit', () => server.kill('SIGKILL'));
  const deadline = Date.now() + 5_000;
  while (!(await answersPing(url))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      await stop();
      return {
        why: `the private redis-server did not start on port ${port}`,
        fix: 'Check that `redis-server --port N` runs here, or set REDIS_URL, to run them.',
        stop: none,
      };
    }
    await sleep(50);
  }
  return { url, stop };
}

/** Whether something at `url` answers PING like Redis (+PONG, or -NOAUTH). */
function answersPing(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (up) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^[+-]/.test(data.toString('latin1'))));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

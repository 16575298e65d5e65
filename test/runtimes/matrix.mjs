#!/usr/bin/env node
// The runtime matrix: tokenfetch's Hono adapter, its middleware made once at module scope
// (test/runtimes/app), served by Bun, Deno and Cloudflare's workerd, against the mock
// upstream on Node. Runs the built packages (`pnpm build` first).
//
//   node test/runtimes/matrix.mjs [target-prefix…]      every target when none is named
//   MATRIX_JOBS=3                                       targets run at once (default 3)
//
// Targets (`bun`, `deno-2.0.0`, `workerd-node20@2025-04-01`, …; a prefix picks several):
// - bun, deno: the one on PATH, else the npm registry's newest (`npx bun@1`, `npx deno@2`);
//   bun-1.1.4, deno-2.0.0: the oldest that hold every check (see `processRuntimes`);
// - workerd-node20: miniflare 4.20260426.0 and its workerd 1.20260426.1, the newest that
//   install on Node 20 (what `wrangler dev` of wrangler 4.86.0, the newest on Node 20, runs);
// - workerd-oldest: miniflare 4.20250404.0 and its workerd 1.20250404.0, the oldest workerd
//   that accepts the README's floor (workerd takes no date after its own build), at the
//   floor only;
// - workerd-current: workerd 1.20261117.1, the one of wrangler 4.164.0 (the current wrangler,
//   Node 22 only, on miniflare 5, a beta with a new API), driven by miniflare 4.20260730.0
//   (the last miniflare 4, Node 22) under `npx node@22`;
// each workerd at the compatibility-date floor packages/hono/README.md states and at the
// newest date it accepts, and `@below`: the day before the floor does not start the app.
//
// Every target runs the checks below against mock upstreams of its own (the app's client,
// and a pool made at module scope, each on an upstream of its own), and prints a line per
// check; the table at the end is what the Hono README's runtime table states. A failed
// check fails the run, unless `knownFailing` lists it: then it is reported with its error
// and does not fail the run. A listed check that passes is reported as FIXED, without
// failing the run (some of them fail by a race, and may pass once): remove its mark.
/* global AbortSignal */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const appDir = join(here, 'app');
const require = createRequire(import.meta.url);
const honoReadme = fileURLToPath(new URL('../../packages/hono/README.md', import.meta.url));

/** Calls at once in the cold-start and revocation checks. */
const burst = 50;
/**
 * The short tokens' lifetime, how many renewals they are loaded for, by how many callers,
 * and for how long at most (a busy machine makes the calls slower, not the tokens longer).
 */
const shortTokenMs = 2_000;
const renewals = 5;
const loaders = 5;
const shortLoadMaxMs = 30_000;
/** How long the matrix waits for an answer (tokenfetch's own timeout is 30 s). */
const callTimeoutMs = 15_000;
/** The tenants of the app's pool (test/runtimes/app/app.ts), each a user of the pool's upstream. */
const poolTenants = ['tenant-a', 'tenant-b'];

/**
 * Checks that fail today, with the issue that fixes them: `<target prefix>:<check>`. Each
 * is reported with its error, and does not fail the run.
 */
const knownFailing = {};

/**
 * Bun and Deno: the newest (the one on PATH, else the registry's newest 1.x and 2.x), and
 * the oldest that hold every check: Bun 1.1.4, the first with `AbortSignal.any` (core needs
 * it), and Deno 2.0.0, whose timers are numbers without `unref()` (up to Deno 2.7).
 */
const processRuntimes = [
  { name: 'bun', runtime: 'bun', npx: 'bun@1', onPath: true },
  { name: 'deno', runtime: 'deno', npx: 'deno@2', onPath: true },
  { name: 'bun-1.1.4', runtime: 'bun', npx: 'bun@1.1.4' },
  { name: 'deno-2.0.0', runtime: 'deno', npx: 'deno@2.0.0' },
];

/**
 * What a downstream hang-up does to the upstream call on each runtime, as the Hono README
 * states it: `aborts` (within 2 s) or `continues` (still open 2 s later).
 */
const hangUp = { bun: 'aborts', deno: 'aborts', 'deno-2.0.0': 'continues', workerd: 'continues' };

const workerdLines = [
  { name: 'workerd-node20', miniflare: 'miniflare', node: process.execPath },
  {
    name: 'workerd-oldest',
    miniflare: 'miniflare-oldest',
    node: process.execPath,
    floorOnly: true,
  },
  {
    name: 'workerd-current',
    miniflare: 'miniflare-node22',
    node: 'node@22',
    workerd: 'workerd-current',
  },
];

const floor = readmeFloor();
const wanted = process.argv.slice(2);
const wants = (name) => wanted.length === 0 || wanted.some((prefix) => name.startsWith(prefix));
const jobs = Math.max(1, Number(process.env.MATRIX_JOBS) || 3);
const work = mkdtempSync(join(tmpdir(), 'tokenfetch-matrix-'));
const results = [];
const started = Date.now();
// The harness's own event loop serves every mock and load: a stall there is not the runtime's.
const stall = monitorEventLoopDelay({ resolution: 20 });
/** The store keys of test/runtimes/app/store-keys.ts as Node derives them (core's Node build). */
let nodeStoreKeys;

try {
  // Everything that blocks (finding binaries, their versions) is done here, before any
  // target runs: a blocked event loop would stall every check in flight.
  const targets = [];
  for (const spec of processRuntimes) {
    if (wants(spec.name)) targets.push(processTarget(spec));
  }
  // `workerd-node20@2026` names a line and some of its dates.
  const lines = workerdLines.filter(
    (line) => wants(line.name) || wanted.some((prefix) => prefix.startsWith(`${line.name}@`)),
  );
  if (lines.length > 0) {
    const scripts = await bundleWorkers();
    for (const line of lines) {
      setUp(line);
      for (const date of line.floorOnly ? [floor] : [floor, line.newest]) {
        if (wants(`${line.name}@${date}`)) targets.push(workerdTarget(line, date, scripts));
      }
      if (!line.floorOnly && wants(`${line.name}@below`)) {
        targets.push(belowFloorTarget(line, scripts));
      }
    }
  }
  nodeStoreKeys = await nodeKeys();
  stall.enable();
  await runAll(targets);
} finally {
  rmSync(work, { recursive: true, force: true });
}
report();

// ---------------------------------------------------------------------------------------
// Targets: a label, and how to start instances of the app (each `{ url, stop }`).

/** Bun or Deno: each instance is a process serving test/runtimes/app/serve.ts. */
function processTarget({ name, runtime, npx, onPath }) {
  const bin = binary(runtime, npx, onPath);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  // Bun reads the repository's tsconfig, whose `paths` point at the packages' sources:
  // an empty one instead, so that Bun, like Deno, runs the built packages.
  const tsconfig = join(work, 'tsconfig.json');
  writeFileSync(tsconfig, '{ "compilerOptions": {} }');
  const args =
    runtime === 'bun'
      ? [`--tsconfig-override=${tsconfig}`, 'serve.ts']
      : // Sloppy imports: the sources import `./x.js` for `./x.ts`, as tsc wants (Deno 2.0
        // knows the flag by its unstable name only; later ones by both).
        ['run', '--unstable-sloppy-imports', '--allow-net', '--allow-env', '--allow-read'].concat(
          '--allow-sys',
          'serve.ts',
        );
  return {
    name,
    label: version.startsWith(runtime) ? version.split(' (')[0] : `${runtime} ${version}`,
    hangUp: hangUp[name] ?? hangUp[runtime],
    shared: 'RedisTokenStore across two processes (ioredis, node-redis)',
    start: (instances) => {
      const prefix = `tokenfetch-matrix-${process.pid}-${Date.now()}`;
      return Promise.all(
        // One instance talks to Redis through ioredis, the other through node-redis.
        instances.map(({ env, shared }, index) => {
          const client = index === 0 ? 'ioredis' : 'node-redis';
          return startProcess(bin, args, {
            ...env,
            ...(shared ? { TOKEN_STORE: 'redis', REDIS_PREFIX: prefix, REDIS_CLIENT: client } : {}),
          });
        }),
      );
    },
  };
}

async function startProcess(bin, args, env) {
  const child = spawn(bin, args, {
    cwd: appDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`exited (${code}) before serving: ${firstError(stderr)}`);
    }),
  ]);
  const { port } = JSON.parse(line);
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** workerd through miniflare: the instances are workers (each an isolate) of one miniflare. */
function workerdTarget(line, compatibilityDate, scripts) {
  const binding = (scriptName) => ({
    TOKENS: {
      className: 'TokenfetchStore',
      useSQLite: true,
      ...(scriptName ? { scriptName } : {}),
    },
  });
  return {
    name: `${line.name}@${compatibilityDate}`,
    label: `${line.label} @${compatibilityDate}`,
    hangUp: hangUp.workerd,
    shared: 'durableObjectStore across two isolates',
    async start(instances) {
      const workers = instances.map(({ env, shared }, index) => ({
        name: `app${index}`,
        script: shared ? scripts.shared : scripts.solo,
        bindings: env,
        serve: true,
        ...(shared ? { durableObjects: binding('store') } : {}),
      }));
      if (instances.some((instance) => instance.shared)) {
        // The Durable Object's own worker, as a worker that binds its class lives apart
        // from the isolates that call it.
        workers.push({
          name: 'store',
          script: scripts.shared,
          bindings: instances[0].env,
          durableObjects: binding(),
        });
      }
      const host = await startMiniflare(line, compatibilityDate, workers);
      if (host.error !== undefined) throw new Error(host.error);
      return workers
        .filter((worker) => worker.serve)
        .map((worker, index) => ({
          url: host.urls[worker.name],
          stop: index === 0 ? host.stop : () => {},
        }));
    },
  };
}

/** The day before the floor: the app must not start (else the README could claim that day). */
function belowFloorTarget(line, scripts) {
  const day = new Date(Date.parse(`${floor}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  return {
    name: `${line.name}@below`,
    label: `${line.label} @${day}`,
    async run(target) {
      await check(
        target,
        'below-floor',
        `does not start below the README's floor (${floor})`,
        {},
        async () => {
          const env = {
            API_BASE_URL: 'https://x.invalid',
            API_KEY: 'k',
            HANG_URL: 'https://x.invalid',
          };
          const host = await startMiniflare(line, day, [
            { name: 'app0', script: scripts.solo, bindings: env, serve: true },
          ]);
          host.stop();
          if (host.error === undefined) {
            throw new Error(`the app starts at ${day}: the README's floor is too high`);
          }
          return host.error;
        },
      );
    },
  };
}

/**
 * The line's Node (its own for miniflare 4.20260730: `npx node@22`), workerd binary,
 * label and the newest compatibility date that workerd accepts (the date of its build).
 */
function setUp(line) {
  if (line.node.startsWith('node@')) {
    const found = spawnSync('npx', ['--yes', line.node, '-p', 'process.execPath'], {
      encoding: 'utf8',
    });
    if (found.status !== 0) throw new Error(`${line.name}: npx ${line.node}: ${found.stderr}`);
    line.node = found.stdout.trim();
  }
  const miniflare = require.resolve(line.miniflare);
  // miniflare runs the binary of its own workerd unless told another.
  const workerd =
    line.workerd === undefined
      ? createRequire(miniflare).resolve('workerd')
      : require.resolve(line.workerd);
  if (line.workerd !== undefined) line.binary = require(workerd).default;
  const version = packageVersion(workerd, 'workerd');
  const nodeVersion = spawnSync(line.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const driver = `miniflare ${packageVersion(miniflare, 'miniflare')}`;
  line.label = `workerd ${version} (${line.name}: ${driver}, Node ${nodeVersion})`;
  const [, y, m, d] = /^1\.(\d{4})(\d{2})(\d{2})\./.exec(version);
  line.newest = `${y}-${m}-${d}`;
}

/** The version of package `name`, from the package.json above its file `entry`. */
function packageVersion(entry, name) {
  for (let dir = join(entry, '..'); dir !== join(dir, '..'); dir = join(dir, '..')) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === name) return pkg.version;
    } catch {
      // Not the package's root yet.
    }
  }
  throw new Error(`no package.json of ${name} above ${entry}`);
}

/** A miniflare-host.mjs process under the line's Node; resolves with what it printed. */
async function startMiniflare(line, compatibilityDate, workers) {
  const config = {
    miniflare: line.miniflare,
    compatibilityDate,
    compatibilityFlags: ['nodejs_compat'],
    workers,
  };
  const child = spawn(line.node, [join(here, 'miniflare-host.mjs'), JSON.stringify(config)], {
    cwd: here,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...(line.binary ? { MINIFLARE_WORKERD_PATH: line.binary } : {}) },
  });
  const [printed] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`miniflare exited (${code}) before it was up`);
    }),
  ]);
  const host = JSON.parse(printed);
  const stop = () => child.stdin.end();
  if (host.error !== undefined) stop();
  return { ...host, stop };
}

/** The app bundled for Workers: with each isolate's own token, and with the Durable Object's. */
async function bundleWorkers() {
  const scripts = {};
  for (const [name, entry] of [
    ['solo', 'worker.ts'],
    ['shared', 'worker-shared.js'],
  ]) {
    scripts[name] = join(work, name, 'worker.js');
    await build({
      entryPoints: [join(appDir, entry)],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      external: ['cloudflare:*', 'node:*'],
      // Not the repository's tsconfig: its `paths` would bundle the packages' sources.
      tsconfigRaw: {},
      outfile: scripts[name],
      logLevel: 'warning',
    });
  }
  return scripts;
}

// ---------------------------------------------------------------------------------------
// Checks.

/** Runs the targets, `jobs` at a time; each prints its block of lines when it is done. */
async function runAll(targets) {
  const queue = [...targets];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (queue.length > 0) {
        const target = queue.shift();
        target.lines = [];
        await (target.run ?? runChecks)(target);
        console.log(`\n--- ${target.label}\n${target.lines.join('\n')}`);
      }
    }),
  );
}

/** One instance with its own token, and two sharing a store, side by side. */
async function runChecks(target) {
  const hang = await startHangServer();
  try {
    await Promise.all([soloChecks(target, hang), sharedChecks(target, hang)]);
  } finally {
    await hang.close();
  }
}

async function soloChecks(target, hang) {
  const upstream = await startMockUpstream();
  const poolUpstream = await startMockUpstream({
    users: poolTenants.map((tenant) => ({
      email: `${tenant}@example.com`,
      password: `pw-${tenant}`,
      orgs: [1],
    })),
  });
  let instances;
  try {
    instances = await attempt(target, 'start', 'starts with authMiddleware() at module scope', () =>
      target.start([{ env: appEnv(upstream, hang, poolUpstream), shared: false }]),
    );
    const app = instances?.[0];
    await check(target, 'store-key', "store keys (PBKDF2-bound) are Node's", app, async () => {
      const keys = await (await fetch(`${app.url}/store-key`)).json();
      expectEqual(JSON.stringify(keys), JSON.stringify(nodeStoreKeys), 'store keys');
      return keys.map((key) => `${key.slice(0, 12)}…`).join(', ');
    });
    await check(target, 'cold', `${burst} concurrent cold calls → 1 login`, app, async () => {
      expectAll200(await callAll([app], burst));
      expectEqual(upstream.stats.successfulLogins, 1, 'logins');
    });
    await check(target, 'fetch', "calls go through the runtime's fetch", app, async () => {
      const { fetchCalls } = await (await fetch(`${app.url}/stats`)).json();
      const { successfulLogins, calls } = upstream.stats;
      expectEqual(fetchCalls, successfulLogins + calls, 'calls through the global fetch');
    });
    await check(target, 'revoke', `revoked under ${burst} calls → 1 re-login, 0 failed`, app, () =>
      revocation(upstream, [app]),
    );
    // The app's client and the pool's tenants, at once: each on its upstream.
    await Promise.all([
      check(target, 'refresh', shortTitle(''), app, () => shortTokens(upstream, [app])),
      check(target, 'pool', poolTitle(), app, () => poolChecks(poolUpstream, app)),
    ]);
    const does = target.hangUp === 'aborts' ? 'aborts' : 'does not abort';
    await check(target, 'hang-up', `a hang-up ${does} the upstream call`, app, () =>
      hangUpCheck(app, hang, target.hangUp),
    );
  } finally {
    for (const instance of instances ?? []) instance.stop();
    await Promise.all([upstream.close(), poolUpstream.close()]);
  }
}

function poolTitle() {
  const tenants = poolTenants.length;
  const cold = `${burst} cold calls over ${tenants} tenants → ${tenants} logins`;
  return `a pool made at module scope: ${cold}; ${shortTitle(' each')}`;
}

/**
 * The app's pool (made once, at module scope): cold calls make one login per tenant, then
 * short tokens renewed `renewals` times for every tenant answer every call.
 */
async function poolChecks(upstream, app) {
  const paths = poolTenants.map((tenant) => `/pool/me?tenant=${tenant}`);
  expectAll200(await callAll([app], burst, paths));
  expectEqual(upstream.stats.successfulLogins, poolTenants.length, 'logins');
  return shortTokens(upstream, [app], paths);
}

async function sharedChecks(target, hang) {
  const upstream = await startMockUpstream();
  let pair;
  try {
    const env = appEnv(upstream, hang);
    pair = await attempt(target, 'shared-start', `two instances, ${target.shared}`, () =>
      target.start([
        { env, shared: true },
        { env, shared: true },
      ]),
    );
    const app = pair?.[0];
    // A failure says what each instance saw (a store error tells why they did not share).
    const shared = (name, title, body) =>
      check(target, name, title, app, () => explained(pair, body));
    await shared('shared-cold', `${burst} cold calls over two instances → 1 login`, async () => {
      expectAll200(await callAll(pair, burst));
      expectEqual(upstream.stats.successfulLogins, 1, 'logins');
    });
    await shared('shared-revoke', 'revoked, over two instances → 1 re-login, 0 failed', () =>
      revocation(upstream, pair),
    );
    await shared('shared-refresh', shortTitle(' over two instances'), () =>
      shortTokens(upstream, pair),
    );
  } finally {
    for (const instance of pair ?? []) instance.stop();
    await upstream.close();
  }
}

/** `body`, its error followed by the instances' events (a store error says why they did not share). */
async function explained(apps, body) {
  try {
    return await body();
  } catch (error) {
    const events = await Promise.all(
      apps.map((app) =>
        fetch(`${app.url}/stats`)
          .then((response) => response.json())
          .then((stats) => JSON.stringify(stats.events))
          .catch(() => '?'),
      ),
    );
    throw new Error(`${error.message}; events by instance: ${events.join(', ')}`);
  }
}

function appEnv(upstream, hang, poolUpstream) {
  return {
    API_BASE_URL: upstream.baseUrl,
    API_EMAIL: DEMO_USER.email,
    API_PASSWORD: DEMO_USER.password,
    API_ORG_ID: String(DEMO_USER.orgs[0] ?? 1),
    HANG_URL: hang.url,
    // The pool's tenants are not called where there is no pool upstream.
    POOL_BASE_URL: poolUpstream?.baseUrl ?? 'https://pool.invalid',
  };
}

/** Every token revoked, then `burst` calls: all answer 200, after one login. */
async function revocation(upstream, apps) {
  const before = upstream.stats.successfulLogins;
  upstream.revokeTokens();
  expectAll200(await callAll(apps, burst));
  expectEqual(upstream.stats.successfulLogins - before, 1, 're-logins');
}

function shortTitle(where) {
  return `${shortTokenMs / 1000} s tokens, ${renewals} renewals${where} → all 200`;
}

/**
 * Tokens of `shortTokenMs` (announced as `expiresIn`), from a revocation on, loaded by
 * `loaders` callers, one call after another, until the token of each path's client (one
 * token per path) was renewed `renewals` times: every call answers 200.
 */
async function shortTokens(upstream, apps, paths = ['/me']) {
  const logins = renewals * paths.length;
  upstream.setLoginResponse((login) => ({
    body: JSON.stringify({
      token: login.issueToken({ ttlMs: shortTokenMs }),
      expiresIn: shortTokenMs / 1000,
    }),
  }));
  upstream.revokeTokens();
  expectAll200(await callAll(apps, Math.max(apps.length, paths.length), paths));
  upstream.resetStats();
  const begun = Date.now();
  const statuses = [];
  let failed = 0;
  // Done after the renewals, or once it is clear they will not all answer.
  const done = () =>
    upstream.stats.successfulLogins >= logins ||
    failed >= 100 ||
    Date.now() - begun > shortLoadMaxMs;
  await Promise.all(
    Array.from({ length: loaders }, async (_, index) => {
      while (!done()) {
        const status = await call(apps[index % apps.length], paths[index % paths.length]);
        if (status !== 200) failed++;
        statuses.push(status);
        // Paced (≤ 25 calls a second each), so that several targets can run at once on a
        // small machine: the calls are there to use every token, not to load the runtime.
        await delay(40);
      }
    }),
  );
  const { successfulLogins, rejectedCalls } = upstream.stats;
  expectAll200(statuses);
  if (successfulLogins < logins) {
    throw new Error(`only ${successfulLogins} of ${logins} renewals in ${shortLoadMaxMs / 1000} s`);
  }
  const seconds = ((Date.now() - begun) / 1000).toFixed(1);
  return `${statuses.length} calls in ${seconds} s, ${rejectedCalls} sent with an expired token`;
}

/**
 * A call in flight to a server that never answers, and its downstream client hangs up:
 * the upstream request ends within 2 s (`aborts`), or is still open 2 s later (`continues`).
 */
async function hangUpCheck(app, hang, expected) {
  const arrived = hang.next();
  const downstream = request(`${app.url}/hang`);
  downstream.on('error', () => {});
  downstream.end();
  const upstreamRequest = await Promise.race([
    arrived,
    delay(5_000).then(() => {
      throw new Error('the upstream call did not arrive within 5 s');
    }),
  ]);
  const closed = new Promise((resolve) => upstreamRequest.once('close', () => resolve(true)));
  upstreamRequest.on('error', () => {});
  downstream.destroy();
  const observed = (await Promise.race([closed, delay(2_000, false)])) ? 'aborts' : 'continues';
  if (observed !== expected) {
    const says = expected === 'aborts' ? 'aborts' : 'does not abort';
    const did = observed === 'aborts' ? 'aborted it' : 'did not within 2 s';
    throw new Error(`the README says a hang-up ${says} the upstream call; here it ${did}`);
  }
  return observed === 'aborts' ? 'aborted within 2 s' : 'still open 2 s after the hang-up';
}

// ---------------------------------------------------------------------------------------
// Bookkeeping.

/** Runs one check, or records it as failed because what it needs did not start. */
async function check(target, name, title, app, body) {
  if (app === undefined) {
    record(target, name, title, new Error('not run: the app did not start'));
    return;
  }
  const begun = Date.now();
  try {
    const detail = await body();
    record(target, name, title, undefined, detail, Date.now() - begun);
  } catch (error) {
    record(target, name, title, error, undefined, Date.now() - begun);
  }
}

/** Like `check`, for a step whose value the next checks need (`undefined` if it failed). */
async function attempt(target, name, title, body) {
  try {
    const value = await body();
    record(target, name, title);
    return value;
  } catch (error) {
    record(target, name, title, error);
    return undefined;
  }
}

function record(target, name, title, error, detail, ms) {
  const key = `${target.name}:${name}`;
  const known = Object.entries(knownFailing).find(([prefix]) => key.startsWith(prefix))?.[1];
  const status = error === undefined ? (known ? 'FIXED' : 'ok') : known ? 'known' : 'FAIL';
  const message = error instanceof Error ? error.message : error && String(error);
  results.push({ target, name, status, message, known });
  const notes = {
    FIXED: ` — marked known failing until ${known}, but passes: remove the mark once it always does`,
    known: ` — known failing until ${known}: ${message}`,
    FAIL: `: ${message}`,
    ok: detail ? ` (${detail})` : '',
  };
  const took = ms === undefined ? '' : ` [${(ms / 1000).toFixed(1)} s]`;
  target.lines.push(`${status.padEnd(5)} ${name.padEnd(14)} ${title}${notes[status]}${took}`);
}

function report() {
  const order = ['start', 'store-key', 'cold', 'fetch', 'revoke', 'refresh', 'pool', 'hang-up'];
  order.push('shared-start');
  order.push('shared-cold', 'shared-revoke', 'shared-refresh', 'below-floor');
  const columns = order.filter((name) => results.some((result) => result.name === name));
  const rows = [...new Set(results.map((result) => result.target.label))].sort();
  const width = Math.max(...rows.map((row) => row.length));
  const pad = (text, column) => text.padEnd(Math.max(column.length, 5));
  console.log(`\n${''.padEnd(width)}  ${columns.map((column) => pad(column, column)).join(' ')}`);
  for (const row of rows) {
    const cells = columns.map((column) => {
      const result = results.find((r) => r.target.label === row && r.name === column);
      return pad(result?.status ?? '-', column);
    });
    console.log(`${row.padEnd(width)}  ${cells.join(' ')}`);
  }
  const failed = results.filter((result) => result.status === 'FAIL');
  const known = results.filter((result) => result.status === 'known');
  const fixed = results.filter((result) => result.status === 'FIXED');
  const seconds = Math.round((Date.now() - started) / 1000);
  const stalled = Math.round(stall.max / 1e6);
  console.log(
    `\n${results.length} checks in ${seconds} s: ${failed.length} failed, ${known.length} known failing` +
      `, ${fixed.length} marked known failing but passing` +
      ` (the harness's event loop stalled ${stalled} ms at most)`,
  );
  process.exitCode = failed.length > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Helpers.

/** `count` GETs at once, spread over `apps` and `paths`: 200, or what answered instead. */
function callAll(apps, count, paths = ['/me']) {
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      call(apps[index % apps.length], paths[index % paths.length]),
    ),
  );
}

async function call(app, path = '/me') {
  try {
    // A wedged engine answers nothing: give up well before the client's 30 s timeout.
    const response = await fetch(`${app.url}${path}`, {
      signal: AbortSignal.timeout(callTimeoutMs),
    });
    const body = await response.text();
    return response.status === 200 ? 200 : `${response.status} ${body.slice(0, 300)}`;
  } catch (error) {
    if (error.name === 'TimeoutError') return `no answer within ${callTimeoutMs / 1000} s`;
    return `network error: ${error.cause?.message ?? error.message}`;
  }
}

function expectAll200(statuses) {
  const failed = statuses.filter((status) => status !== 200);
  if (failed.length === 0) return;
  const kinds = [...new Set(failed)];
  const first = statuses.indexOf(failed[0]);
  throw new Error(
    `${failed.length} of ${statuses.length} calls failed (the first after ${first} answered 200): ${kinds.slice(0, 2).join(' | ')}`,
  );
}

function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: ${actual}, expected ${expected}`);
}

/** A server that never answers; `next()` resolves with the next request it receives. */
async function startHangServer() {
  const waiting = [];
  const server = createServer((req) => waiting.shift()?.(req));
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The runtime's own binary: the one on PATH if `onPath`, else npx's copy from the npm
 * registry (asked for its path, so that the server is the child killed at the end, not npx).
 */
function binary(runtime, npx, onPath) {
  if (onPath && spawnSync(runtime, ['--version']).status === 0) return runtime;
  const printPath =
    runtime === 'bun'
      ? ['-e', 'console.log(process.execPath)']
      : ['eval', 'console.log(Deno.execPath())'];
  const found = spawnSync('npx', ['--yes', npx, ...printPath], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`no ${runtime} from npx ${npx}: ${found.stderr}`);
  return found.stdout.trim();
}

/** The first line of a process's stderr that names an error. */
function firstError(stderr) {
  const lines = stderr.split('\n');
  return (lines.find((line) => /error/i.test(line)) ?? lines[0] ?? '').trim().slice(0, 300);
}

/**
 * test/runtimes/app/store-keys.ts run here, on Node, against the built packages (tsx, with
 * no tsconfig: its `paths` would load the sources): the keys every runtime must derive.
 */
async function nodeKeys() {
  const { tsImport } = await import('tsx/esm/api');
  const url = new URL('app/store-keys.ts', import.meta.url).href;
  const { storeKeys } = await tsImport(url, { parentURL: import.meta.url, tsconfig: false });
  return storeKeys();
}

/** The compatibility-date floor packages/hono/README.md states. */
function readmeFloor() {
  const text = readFileSync(honoReadme, 'utf8');
  const match = /compatibility date (\d{4}-\d{2}-\d{2}) or later/.exec(text);
  if (match === null) {
    throw new Error(`${honoReadme} states no "compatibility date YYYY-MM-DD or later"`);
  }
  return match[1];
}

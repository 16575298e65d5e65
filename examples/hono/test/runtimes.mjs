#!/usr/bin/env node
// Hono + tokenfetch on Bun, Deno and Cloudflare's workerd, against the built packages (run
// `pnpm build` first) and the mock upstream on Node:
//
//   node examples/hono/test/runtimes.mjs [bun] [deno] [workerd]     (all when none is named)
//
// Each runtime is the one on PATH, else the npm registry's (`npx --yes bun@1`, `deno@2`,
// `workerd`). For each it checks that a handler's apiFetch logs in and calls the upstream,
// that the calls went through the runtime's global fetch (core's web build, not undici),
// and that a call in flight is aborted when the downstream client disconnects. workerd
// runs the app bundled by esbuild under the `workerd` condition, with `nodejs_compat` (so
// that `process.env` holds the text bindings `authMiddleware()` reads).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const server = fileURLToPath(new URL('./runtime-server.ts', import.meta.url));

/** How each runtime is found and started; `start` resolves with the child and its port. */
const runtimes = {
  bun: {
    npx: ['bun@1', '-e', 'console.log(process.execPath)'],
    start: (bin, env) => announced(spawn(bin, [server], options(env)), 'bun'),
  },
  deno: {
    npx: ['deno@2', 'eval', 'console.log(Deno.execPath())'],
    // --sloppy-imports: the sources import `./x.js` for `./x.ts`, as tsc wants.
    start: (bin, env) =>
      announced(
        spawn(
          bin,
          ['run', '--sloppy-imports', '--allow-net', '--allow-env', '--allow-read', server],
          options(env),
        ),
        'deno',
      ),
  },
  workerd: {
    npx: ['-p', 'workerd', 'sh', '-c', 'command -v workerd'],
    start: startWorkerd,
    // Not checked: under local workerd (2026-11-17, enable_request_signal) the call was
    // still running 15 s after its client hung up; see packages/hono/README.md.
    disconnect: false,
  },
};
const names = process.argv.slice(2);
let failed = false;

for (const name of names.length > 0 ? names : Object.keys(runtimes)) {
  const runtime = runtimes[name];
  if (runtime === undefined) throw new Error(`unknown runtime ${name}: bun, deno or workerd`);
  try {
    await check(name, runtime);
    console.log(`ok   ${name}`);
  } catch (error) {
    failed = true;
    console.error(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;

/**
 * The runtime's own binary: the one on PATH, else npx's copy from the npm registry (asked
 * for its path, so that the server is the child killed at the end, not npx).
 */
function binary(name, npx) {
  const onPath = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return name;
  const viaNpx = spawnSync('npx', ['--yes', ...npx], { encoding: 'utf8' });
  if (viaNpx.status !== 0) throw new Error(`no ${name} on PATH, and npx: ${viaNpx.stderr}`);
  return viaNpx.stdout.trim();
}

function options(env) {
  return { cwd: here, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } };
}

/** The port runtime-server.ts announces on its first line. */
async function announced(child, name) {
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${name} exited (${code}) before serving`);
    }),
  ]);
  const { port, runtime } = JSON.parse(line);
  if (runtime !== name) throw new Error(`served by ${runtime}, not ${name}`);
  return { child, port };
}

/** A free port (workerd listens where its config says). */
async function freePort() {
  const probe = createServer();
  await once(probe.listen(0, '127.0.0.1'), 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** runtime-app.ts bundled for Workers, served by workerd; resolves once it answers. */
async function startWorkerd(bin, env) {
  const dir = mkdtempSync(join(tmpdir(), 'tokenfetch-workerd-'));
  await build({
    entryPoints: [fileURLToPath(new URL('./runtime-app.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    outfile: join(dir, 'worker.js'),
    logLevel: 'warning',
  });
  const port = await freePort();
  const bindings = Object.entries(env)
    .map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`)
    .join(', ');
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["nodejs_compat", "enable_request_signal"],
  bindings = [${bindings}],
  globalOutbound = "internet",
);
`,
  );
  const child = spawn(bin, ['serve', join(dir, 'config.capnp')], options({}));
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (let tries = 0; tries < 100; tries++) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode})`);
    try {
      await fetch(`http://127.0.0.1:${port}/fetch-calls`);
      return { child, port };
    } catch {
      await delay(100);
    }
  }
  throw new Error('workerd did not answer within 10 s');
}

async function check(name, { npx, start, disconnect = true }) {
  const upstream = await startMockUpstream();
  let hangingRequest;
  const hangArrived = new Promise((resolve) => (hangingRequest = resolve));
  // Never answers: the only way its request ends is the caller aborting it.
  const hang = createServer((req) => hangingRequest(req));
  await once(hang.listen(0, '127.0.0.1'), 'listening');
  let child;
  try {
    let port;
    ({ child, port } = await start(binary(name, npx), {
      API_BASE_URL: upstream.baseUrl,
      API_EMAIL: DEMO_USER.email,
      API_PASSWORD: DEMO_USER.password,
      API_ORG_ID: String(DEMO_USER.orgs[0] ?? 1),
      HANG_URL: `http://127.0.0.1:${hang.address().port}`,
    }));
    const base = `http://127.0.0.1:${port}`;

    const me = await fetch(`${base}/me`);
    const body = await me.json();
    assert(me.status === 200 && body.email === DEMO_USER.email, `GET /me: ${me.status}`);
    assert(upstream.stats.successfulLogins === 1, 'one login');
    const { fetchCalls } = await (await fetch(`${base}/fetch-calls`)).json();
    // The login and the call, both through the runtime's fetch.
    assert(fetchCalls === 2, `global fetch called ${fetchCalls} times, expected 2`);

    if (disconnect) await abortedOnDisconnect(base, hangArrived);
    console.log(
      `     ${name}: /me 200, ${fetchCalls} calls through fetch` +
        (disconnect ? ', disconnect aborted the call' : ''),
    );
  } finally {
    child?.kill();
    hang.closeAllConnections();
    hang.close();
    await upstream.close();
  }
}

/** A call in flight to a server that never answers ends when its downstream client leaves. */
async function abortedOnDisconnect(base, hangArrived) {
  const downstream = request(`${base}/hang`);
  downstream.on('error', () => {});
  downstream.end();
  const upstreamRequest = await hangArrived;
  // A reset connection: the request errors (`aborted`), then closes.
  const closed = new Promise((resolve) => upstreamRequest.once('close', resolve));
  upstreamRequest.on('error', () => {});
  downstream.destroy();
  await Promise.race([
    closed,
    delay(2_000, undefined, { ref: false }).then(() => {
      throw new Error('the upstream call was not aborted within 2 s of the disconnect');
    }),
  ]);
}

function assert(ok, message) {
  if (!ok) throw new Error(message);
}

#!/usr/bin/env node
// Hono + tokenfetch on Bun and Deno, against the built packages (run `pnpm build` first)
// and the mock upstream on Node:
//
//   node examples/hono/test/runtimes.mjs bun      (or deno; both when none is named)
//
// The runtime is the one on PATH, else the npm registry's (`npx --yes bun@1`, `npx --yes
// deno@2`). For each it checks that a handler's apiFetch logs in and calls the upstream,
// that the calls went through the runtime's global fetch (core's web build, not undici),
// and that a call in flight is aborted when the downstream client disconnects.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';

const here = fileURLToPath(new URL('.', import.meta.url));
const server = fileURLToPath(new URL('./runtime-server.ts', import.meta.url));
const commands = {
  bun: { npm: 'bun@1', printPath: ['-e', 'console.log(process.execPath)'], args: [server] },
  // --sloppy-imports: the sources import `./x.js` for `./x.ts`, as tsc wants.
  deno: {
    npm: 'deno@2',
    printPath: ['eval', 'console.log(Deno.execPath())'],
    args: ['run', '--sloppy-imports', '--allow-net', '--allow-env', '--allow-read', server],
  },
};
const names = process.argv.slice(2);
let failed = false;

for (const name of names.length > 0 ? names : Object.keys(commands)) {
  const command = commands[name];
  if (command === undefined) throw new Error(`unknown runtime ${name}: bun or deno`);
  try {
    await check(name, command);
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
function binary(name, npm, printPath) {
  const onPath = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return name;
  const viaNpx = spawnSync('npx', ['--yes', npm, ...printPath], { encoding: 'utf8' });
  if (viaNpx.status !== 0) throw new Error(`no ${name} on PATH, and npx ${npm}: ${viaNpx.stderr}`);
  return viaNpx.stdout.trim();
}

async function check(name, { npm, printPath, args }) {
  const upstream = await startMockUpstream();
  let hangingRequest;
  const hangArrived = new Promise((resolve) => (hangingRequest = resolve));
  // Never answers: the only way its request ends is the caller aborting it.
  const hang = createServer((req) => hangingRequest(req));
  await once(hang.listen(0, '127.0.0.1'), 'listening');
  const child = spawn(binary(name, npm, printPath), args, {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      API_BASE_URL: upstream.baseUrl,
      API_EMAIL: DEMO_USER.email,
      API_PASSWORD: DEMO_USER.password,
      API_ORG_ID: String(DEMO_USER.orgs[0] ?? 1),
      HANG_URL: `http://127.0.0.1:${hang.address().port}`,
    },
  });
  try {
    const [line] = await Promise.race([
      once(createInterface({ input: child.stdout }), 'line'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`${name} exited (${code}) before serving`);
      }),
    ]);
    const { port, runtime } = JSON.parse(line);
    if (runtime !== name) throw new Error(`served by ${runtime}, not ${name}`);
    const base = `http://127.0.0.1:${port}`;

    const me = await fetch(`${base}/me`);
    const body = await me.json();
    assert(me.status === 200 && body.email === DEMO_USER.email, `GET /me: ${me.status}`);
    assert(upstream.stats.successfulLogins === 1, 'one login');
    const { fetchCalls } = await (await fetch(`${base}/fetch-calls`)).json();
    // The login and the call, both through the runtime's fetch.
    assert(fetchCalls === 2, `global fetch called ${fetchCalls} times, expected 2`);

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
    console.log(
      `     ${name}: /me 200, ${fetchCalls} calls through fetch, disconnect aborted the call`,
    );
  } finally {
    child.kill();
    hang.closeAllConnections();
    hang.close();
    await upstream.close();
  }
}

function assert(ok, message) {
  if (!ok) throw new Error(message);
}

#!/usr/bin/env node
// Runs workers on workerd through miniflare, for matrix.mjs: a process of its own, because
// each miniflare needs its Node (4.20260426 is the newest that installs on Node 20,
// 4.20260730, the last miniflare 4, wants Node 22).
//
//   node miniflare-host.mjs '<json>'
//
// The JSON: { miniflare: 'miniflare' | 'miniflare-node22', compatibilityDate,
//   compatibilityFlags, workers: [{ name, script, bindings?, durableObjects?, serve? }] }.
// `script` is a bundled ES module; a worker with `serve` gets a socket of its own, so that
// the matrix talks to it without miniflare's entry worker in between (and can hang up on
// it). Prints one line of JSON once every worker is up: { workerd, urls: { name: url } },
// or { workerd, error } with workerd's first `Uncaught` line when it refused to start.
// Runs until its stdin closes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const config = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const entry = require.resolve(config.miniflare);
const { Miniflare, Log, LogLevel } = await import(entry);
// miniflare pins its workerd: `workerd --version` prints the date of that build.
const workerdPackage = createRequire(entry).resolve('workerd/package.json');
const workerd = `workerd ${JSON.parse(readFileSync(workerdPackage, 'utf8')).version}`;

let stderr = '';
const mf = new Miniflare({
  log: new Log(LogLevel.NONE),
  handleRuntimeStdio(out, err) {
    if (process.env.MATRIX_VERBOSE) out.pipe(process.stderr);
    else out.resume();
    err.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
      if (process.env.MATRIX_VERBOSE) process.stderr.write(chunk);
    });
  },
  workers: config.workers.map((worker) => ({
    name: worker.name,
    modules: [{ type: 'ESModule', path: worker.script }],
    modulesRoot: dirname(worker.script),
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    bindings: worker.bindings ?? {},
    durableObjects: worker.durableObjects ?? {},
    ...(worker.serve ? { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] } : {}),
  })),
});

const done = () => mf.dispose().finally(() => process.exit(0));
process.stdin.on('end', done).resume();
process.once('SIGTERM', done);

try {
  await mf.ready;
  const urls = {};
  for (const worker of config.workers.filter((w) => w.serve)) {
    urls[worker.name] = (await mf.unsafeGetDirectURL(worker.name)).href.replace(/\/$/, '');
  }
  console.log(JSON.stringify({ workerd, urls }));
} catch (error) {
  // Give workerd's last lines a moment to arrive.
  await delay(200);
  const lines = stderr.split('\n');
  const at = lines.findIndex((line) => line.includes('Uncaught'));
  // The error and where it was thrown (its first two stack frames).
  const reason =
    at === -1
      ? String(error?.message ?? error)
      : lines
          .slice(at, at + 3)
          .map((line) => line.replace(/^.*?Uncaught /, '').trim())
          .join(' ');
  console.log(JSON.stringify({ workerd, error: reason }));
  await mf.dispose().catch(() => {});
  process.exit(0);
}

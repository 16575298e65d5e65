// The Redis README's Express + node-redis app, as a new user copies it, started while Redis
// is down: "a cache outage never fails a request" (guarantee 12) must hold from start-up on.
// node-redis's connect() neither resolves nor rejects while Redis is away (it retries), so an
// app that awaits it never listens; the README's snippet must not make start-up wait on Redis.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { demoUser, startMockUpstream } from '@tokenfetch/mock-upstream';
import { expect, it } from 'vitest';
import { extractSnippets } from './extract.mjs';

const readme = fileURLToPath(new URL('../../packages/redis/README.md', import.meta.url));
const preload = pathToFileURL(fileURLToPath(new URL('./listen-on-free-port.mjs', import.meta.url)));

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('the README’s Express + node-redis app serves /me with Redis down at start-up', async () => {
  const { snippets } = extractSnippets(readFileSync(readme, 'utf8'), readme);
  const snippet = snippets.find(
    (s) => s.run?.kind === 'serve' && s.code.includes("from 'redis'") && s.code.includes('express'),
  );
  expect(snippet).toBeDefined();
  const { code } = transformSync([...snippet!.prelude, snippet!.code].join('\n'), {
    loader: 'ts',
    format: 'esm',
  });
  // Beside test/node_modules, where express, redis and the packages resolve.
  const file = fileURLToPath(new URL(`../.redis-start-${process.pid}.mjs`, import.meta.url));
  writeFileSync(file, code);
  const mock = await startMockUpstream();
  const child = spawn(process.execPath, ['--import', preload.href, file], {
    env: {
      ...process.env,
      API_BASE_URL: mock.baseUrl,
      API_EMAIL: demoUser.email,
      API_PASSWORD: demoUser.password,
      API_ORG_ID: '1',
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  try {
    const deadline = Date.now() + 8_000;
    let port: string | undefined;
    while ((port = /\[snippet\] listening on port (\d+)/.exec(output)?.[1]) === undefined) {
      if (Date.now() > deadline || child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(port, 'the app listens within 8 s').toBeDefined();
    const response = await fetch(`http://127.0.0.1:${port}/me`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { email: string }).email).toBe(demoUser.email);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(file, { force: true });
    await mock.close();
  }
}, 20_000);

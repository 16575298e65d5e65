// Guarantee 8 on Bun and Deno: a loopback target never goes through a proxy from the
// environment. Their own fetch reads HTTP_PROXY and cannot be told to go direct for one call,
// so core refuses such a client at creation (ConfigError naming the variable and NO_PROXY)
// instead of sending the password in clear through the proxy. Runs `npx bun@1` and
// `npx deno@2` on the built packages (`pnpm build` first).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMockUpstream, demoUser } from '@tokenfetch/mock-upstream';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const appDir = fileURLToPath(new URL('./app/', import.meta.url));

const script = `
import { createApiClient } from '@tokenfetch/core';
let client;
try {
client = createApiClient({ baseUrl: process.env.BASE, auth: { email: '${demoUser.email}', password: '${demoUser.password}', orgId: 1 } });
} catch (e) { console.log(e.name, e.issues?.map((i) => i.path + ' ' + i.message).join('; ')); process.exit(0); }
try { console.log((await client.fetch('/user/users/me')).status); await client.close(); } catch (e) { console.log(e.name, e.issues?.map((i) => i.path + ' ' + i.message).join('; ')); }
`;

async function proxyServer(): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(502).end();
  });
  server.on('connect', (req, socket) => (seen.push(`CONNECT ${req.url}`), socket.end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, seen };
}

describe.each([
  [
    'bun@1',
    (file: string, tsconfig: string) => ['--yes', 'bun@1', `--tsconfig-override=${tsconfig}`, file],
  ],
  ['deno@2', (file: string) => ['--yes', 'deno@2', 'run', '--unstable-sloppy-imports', '-A', file]],
])('%s with HTTP_PROXY set and a plain-http loopback base URL', (_name, argsOf) => {
  it.each([
    ['', /^ConfigError baseUrl is a loopback host, and HTTP_PROXY is set: .*NO_PROXY/],
    ['localhost, 127.0.0.1', /^200$/],
  ])(
    'with NO_PROXY=%j: the proxy sees nothing (guarantee 8)',
    async (noProxy, answer) => {
      const mock = await startMockUpstream();
      const proxy = await proxyServer();
      const dir = mkdtempSync(join(tmpdir(), 'tokenfetch-proxy-'));
      const tsconfig = join(dir, 'tsconfig.json');
      writeFileSync(tsconfig, '{ "compilerOptions": {} }');
      const file = join(appDir, `.loopback-proxy-${process.pid}.ts`);
      writeFileSync(file, script);
      try {
        const { stdout } = await run('npx', argsOf(file, tsconfig), {
          cwd: appDir,
          env: { ...process.env, BASE: mock.baseUrl, HTTP_PROXY: proxy.url, NO_PROXY: noProxy },
          timeout: 60_000,
        });
        expect(proxy.seen).toEqual([]);
        expect(stdout.trim()).toMatch(answer);
      } finally {
        rmSync(file, { force: true });
        rmSync(dir, { recursive: true, force: true });
        proxy.server.close();
        await mock.close();
      }
    },
    90_000,
  );
});

// Attack finding (issue 20, item 5; guarantee 8): "a loopback target is never reached through a
// proxy from the environment". On Node it holds (env-proxy.ts). On Bun and Deno the runtime's
// own fetch reads HTTP_PROXY itself (platform/web.ts), and sends the login to a plain-http
// loopback base URL — the password, in clear — through the proxy. Fails until fixed; kept out
// of `npm test`: `npx vitest run --config vitest.gaps.config.ts test/runtimes/loopback-proxy.gaps.ts`
// (after `pnpm build`; runs `npx bun@1` and `npx deno@2`).
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
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
const client = createApiClient({ baseUrl: process.env.BASE, auth: { email: '${demoUser.email}', password: '${demoUser.password}', orgId: 1 } });
try { console.log((await client.fetch('/user/users/me')).status); } catch (e) { console.log(e.name); }
await client.close();
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
  it('logs in and calls direct: the proxy sees nothing (guarantee 8)', async () => {
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
        env: { ...process.env, BASE: mock.baseUrl, HTTP_PROXY: proxy.url, NO_PROXY: '' },
        timeout: 60_000,
      });
      expect(proxy.seen).toEqual([]);
      expect(stdout.trim()).toBe('200');
    } finally {
      (await import('node:fs')).rmSync(file, { force: true });
      proxy.server.close();
      await mock.close();
    }
  }, 90_000);
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const testDir = fileURLToPath(new URL('..', import.meta.url));
const builtCore = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));

/**
 * In a fresh Node process, from the built package (as users install it): one call with the
 * global fetch counted, then whether a `dispatcher` is accepted.
 */
const probe = `
const real = globalThis.fetch;
let fetchCalls = 0;
globalThis.fetch = (...args) => (fetchCalls++, real(...args));
const { createApiClient, ConfigError } = LOAD;
const client = createApiClient({ baseUrl: process.env.BASE_URL, auth: { apiKey: 'demo-api-key' } });
const status = (await client.fetch('/user/users/me')).status;
await client.close();
let dispatcher = 'accepted';
try {
  createApiClient({ baseUrl: process.env.BASE_URL, auth: { apiKey: 'k' }, dispatcher: { dispatch() {}, request() {} } });
} catch (error) {
  dispatcher = error instanceof ConfigError ? error.message : String(error);
}
console.log(JSON.stringify({ status, fetchCalls, dispatcher }));
`;

/**
 * `import`, or `require()` on a Node that cannot require ESM (as Jest): the CommonJS build,
 * which package.json `imports` gives the same `#platform` conditions under `require`.
 */
type Loader = 'import' | 'require';

async function probeWith(
  conditions: string[],
  baseUrl: string,
  loader: Loader,
): Promise<{ status: number; fetchCalls: number; dispatcher: string }> {
  const script =
    loader === 'import'
      ? probe.replace('LOAD', "await import('@tokenfetch/core')")
      : `(async () => {${probe.replace('LOAD', "require('@tokenfetch/core')")}})();`;
  const flags =
    loader === 'import'
      ? ['--input-type=module']
      : ['--input-type=commonjs', '--no-experimental-require-module'];
  const { stdout } = await run(
    process.execPath,
    [...conditions.map((name) => `--conditions=${name}`), ...flags, '-e', script],
    { cwd: testDir, env: { ...process.env, BASE_URL: baseUrl } },
  );
  return JSON.parse(stdout) as { status: number; fetchCalls: number; dispatcher: string };
}

// package.json `imports` of @tokenfetch/core: `#platform` is undici on Node, the runtime's
// fetch under the conditions Bun, Deno, Workers and browser bundlers resolve with (Bun and
// Deno also match `node`, which is why their own conditions come first).
describe.each(['import', 'require'] as const)(
  'the built @tokenfetch/core, by %s, picks its transport by package.json conditions',
  (loader) => {
    let upstream: MockUpstream;
    beforeEach(async () => {
      upstream = await startMockUpstream();
    });
    afterEach(async () => {
      await upstream.close();
    });

    it('is built (pnpm build runs before the tests)', () => {
      expect(existsSync(builtCore), `${builtCore} is missing: run pnpm build`).toBe(true);
    });

    it('on Node: undici, never the global fetch, and a dispatcher is accepted', async () => {
      const result = await probeWith([], upstream.baseUrl, loader);
      expect(result).toEqual({ status: 200, fetchCalls: 0, dispatcher: 'accepted' });
    });

    for (const condition of ['bun', 'deno', 'workerd', 'worker', 'browser']) {
      it(`under "${condition}": the global fetch, and a dispatcher is a ConfigError`, async () => {
        const result = await probeWith([condition], upstream.baseUrl, loader);
        expect(result.status).toBe(200);
        expect(result.fetchCalls).toBe(1);
        expect(result.dispatcher).toMatch(
          /dispatcher: needs undici, which @tokenfetch\/core uses on Node only/,
        );
      });
    }
  },
);

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each package but the CLI ships an ESM build (dist/) and a CommonJS one (dist/cjs/) for
// toolchains that cannot load ESM (Jest, ts-jest): package.json `exports` sends `import`,
// and `require()` on a Node that can require ESM (`module-sync`), to the ESM build, and
// any other `require` to the CommonJS one. These checks run the built packages in fresh
// Node processes, as users install them (`pnpm build` runs before the tests).
const run = promisify(execFile);
const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url));
const dual = [
  'core',
  'express',
  'fastify',
  'hono',
  'koa',
  'mock-upstream',
  'nestjs',
  'opentelemetry',
  'redis',
];

/** Runs a CommonJS script in Node with `flags`; its last stdout line is JSON. */
async function node(flags: string[], script: string, env: Record<string, string> = {}) {
  const { stdout } = await run(
    process.execPath,
    [
      ...flags,
      '--input-type=commonjs',
      '-e',
      `(async () => {\n${script}\n})().catch((e) => { console.error(e); process.exit(1); });`,
    ],
    { cwd: packagesDir, env: { ...process.env, ...env } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as unknown;
}

describe('the CommonJS build', () => {
  it("require() of each package, on a Node that cannot require ESM (as Jest), loads dist/cjs with its ESM build's names", async () => {
    // Each package requires itself by name (self-reference), through its own `exports`.
    const result = await node(
      ['--no-experimental-require-module'],
      `
      const { createRequire } = require('node:module');
      const { pathToFileURL } = require('node:url');
      const out = {};
      for (const name of ${JSON.stringify(dual)}) {
        const local = createRequire(require.resolve('./' + name + '/package.json'));
        const id = '@tokenfetch/' + name;
        const cjs = local(id);
        const esm = await import(pathToFileURL(require.resolve('./' + name + '/dist/index.js')).href);
        out[name] = {
          file: local.resolve(id).slice(require.resolve('./' + name + '/package.json').length - 'package.json'.length),
          same: JSON.stringify(Object.keys(cjs).sort()) === JSON.stringify(Object.keys(esm).sort()),
          names: Object.keys(cjs).length,
        };
      }
      console.log(JSON.stringify(out));
      `,
    );
    for (const name of dual) {
      expect(result, name).toHaveProperty(name, {
        file: 'dist/cjs/index.cjs',
        same: true,
        names: expect.any(Number) as number,
      });
      expect((result as Record<string, { names: number }>)[name]!.names, name).toBeGreaterThan(0);
    }
  });

  it('require() on a Node that can require ESM loads the ESM build: one copy of core for import and require', async () => {
    const result = await node(
      [],
      `
      const local = require('node:module').createRequire(require.resolve('./express/package.json'));
      const required = local('@tokenfetch/core');
      const imported = await import(require('node:url').pathToFileURL(local.resolve('@tokenfetch/core')).href);
      console.log(JSON.stringify({ file: local.resolve('@tokenfetch/core').includes('/dist/cjs/'), same: required.ConfigError === imported.ConfigError }));
      `,
    );
    expect(result).toEqual({ file: false, same: true });
  });

  describe('errors are recognisable across the two builds loaded in one process', () => {
    let upstream: MockUpstream;
    beforeAll(async () => {
      upstream = await startMockUpstream();
    });
    afterAll(async () => {
      await upstream.close();
    });

    it('an error thrown by the CommonJS build is instanceof the ESM classes, and the other way round', async () => {
      const result = await node(
        [],
        `
        const cjs = require('./core/dist/cjs/index.cjs');
        const esm = await import(require('node:url').pathToFileURL(require.resolve('./core/dist/index.js')).href);
        const refusal = async (core) => {
          const client = core.createApiClient({
            baseUrl: process.env.BASE_URL,
            auth: { email: process.env.EMAIL, password: 'not-the-password', orgId: 1 },
          });
          try { await client.getToken(); } catch (error) { return error; } finally { await client.close(); }
        };
        const config = (core) => { try { core.createApiClient({}); } catch (error) { return error; } };
        const check = (error, other) => [
          error instanceof other.TokenFetchError,
          error instanceof other.InvalidCredentialsError,
          error instanceof other.ConfigError,
          other.isTokenFetchError(error),
        ];
        console.log(JSON.stringify({
          cjsRefusalInEsm: check(await refusal(cjs), esm),
          esmRefusalInCjs: check(await refusal(esm), cjs),
          cjsConfigInEsm: check(config(cjs), esm),
          esmConfigInCjs: check(config(esm), cjs),
          distinctClasses: cjs.ConfigError !== esm.ConfigError,
        }));
        `,
        { BASE_URL: upstream.baseUrl, EMAIL: DEMO_USER.email },
      );
      expect(result).toEqual({
        // instanceof TokenFetchError, InvalidCredentialsError, ConfigError; isTokenFetchError
        cjsRefusalInEsm: [true, true, false, true],
        esmRefusalInCjs: [true, true, false, true],
        cjsConfigInEsm: [true, false, true, true],
        esmConfigInCjs: [true, false, true, true],
        distinctClasses: true,
      });
    });
  });

  it("NestJS's injection tokens are the same symbols in both builds", async () => {
    const result = await node(
      [],
      `
      const cjs = require('./nestjs/dist/cjs/index.cjs');
      const esm = await import(require('node:url').pathToFileURL(require.resolve('./nestjs/dist/index.js')).href);
      console.log(JSON.stringify([cjs.API_CLIENT === esm.API_CLIENT, cjs.API_FETCH === esm.API_FETCH, cjs.TokenfetchModule !== esm.TokenfetchModule]));
      `,
    );
    expect(result).toEqual([true, true, true]);
  });
});

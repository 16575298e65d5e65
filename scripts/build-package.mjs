#!/usr/bin/env node
// `pnpm build` of one package (run in its folder): ESM into dist/ (tsconfig.build.json),
// then, where the package has a tsconfig.cjs.json, CommonJS into dist/cjs/ for the
// toolchains that cannot load ESM (Jest, ts-jest; package.json `exports` sends them there).
//
// dist/cjs/ gets a package.json of its own, `"type": "commonjs"`, so that Node, Jest and
// TypeScript read its .js and .d.ts files as CommonJS (the package's own says "module").
// That file is the package scope of everything under dist/cjs/ (for Node's `imports` and a
// bundler's `sideEffects`), so it also carries the package's `sideEffects` and `imports`
// (core's `#platform`), each target moved to its dist/cjs/ twin.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function compile(config) {
  const { status } = spawnSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}

/**
 * An `imports` entry for dist/cjs/package.json: `./dist/x.js` becomes `./x.js` (its twin
 * under dist/cjs/); `types` and conditions aimed at sources (`tokenfetch-source`, for
 * the examples' ESM) are dropped, as a target may not leave dist/cjs/ by `..`.
 */
function toCommonJs(target) {
  if (typeof target === 'string') {
    if (!target.startsWith('./dist/')) throw new Error(`imports target outside dist/: ${target}`);
    return `./${target.slice('./dist/'.length)}`;
  }
  return Object.fromEntries(
    Object.entries(target)
      .filter(([condition]) => condition !== 'types' && condition !== 'tokenfetch-source')
      .map(([condition, value]) => [condition, toCommonJs(value)]),
  );
}

compile('tsconfig.build.json');
if (existsSync('tsconfig.cjs.json')) {
  compile('tsconfig.cjs.json');
  const { imports, sideEffects } = JSON.parse(readFileSync('package.json', 'utf8'));
  const scope = {
    type: 'commonjs',
    ...(sideEffects !== undefined && { sideEffects }),
    ...(imports && { imports: toCommonJs(imports) }),
  };
  writeFileSync('dist/cjs/package.json', `${JSON.stringify(scope, null, 2)}\n`);
}

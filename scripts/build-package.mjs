#!/usr/bin/env node
// `pnpm build` of one package (run in its folder): ESM into dist/ (tsconfig.build.json),
// then, where the package has a tsconfig.cjs.json, CommonJS into dist/cjs/ for the
// toolchains that cannot load ESM (Jest, ts-jest; package.json `exports` sends them there).
//
// tsc names its CommonJS output .js and .d.ts, which the package's `"type": "module"`
// would make ESM, so the files are renamed .cjs and .d.cts, with their relative module
// specifiers and source maps to match. (A dist/cjs/package.json saying "commonjs" would do
// without renaming, but it would also become the package scope of those files, hiding the
// package's `imports` such as core's `#platform` from them.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function compile(config) {
  const { status } = spawnSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}

/** `./x.js` in require(), import() and `from` of a relative module becomes `./x.cjs`. */
function renameSpecifiers(text) {
  return text.replace(
    /((?:\bfrom|\bimport\(|\brequire\()\s*)(["'])(\.{1,2}\/[^"']*?)\.js\2/g,
    '$1$2$3.cjs$2',
  );
}

const renames = [
  ['.d.ts.map', '.d.cts.map'],
  ['.d.ts', '.d.cts'],
  ['.js.map', '.cjs.map'],
  ['.js', '.cjs'],
];

/** Renames tsc's CommonJS output under `dir` to .cjs / .d.cts. */
function toCommonJsNames(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      toCommonJsNames(path);
      continue;
    }
    const rename = renames.find(([from]) => entry.name.endsWith(from));
    if (rename === undefined) continue;
    const [from, to] = rename;
    const target = `${path.slice(0, -from.length)}${to}`;
    let text = readFileSync(path, 'utf8');
    if (from.endsWith('.map')) {
      const map = JSON.parse(text);
      map.file = map.file.replace(/\.d\.ts$/, '.d.cts').replace(/\.js$/, '.cjs');
      text = JSON.stringify(map);
    } else {
      text = renameSpecifiers(text).replace(
        /(\/\/# sourceMappingURL=.*?)(\.d\.ts|\.js)\.map$/m,
        (_, head, ext) => `${head}${ext === '.js' ? '.cjs' : '.d.cts'}.map`,
      );
    }
    writeFileSync(target, text);
    rmSync(path);
  }
}

compile('tsconfig.build.json');
if (existsSync('tsconfig.cjs.json')) {
  rmSync('dist/cjs', { recursive: true, force: true });
  compile('tsconfig.cjs.json');
  toCommonJsNames('dist/cjs');
}

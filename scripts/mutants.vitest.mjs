// The vitest config of one mutant run (scripts/mutants.mjs): the repository's config, plus a
// plugin that serves the mutated text of one source file in place of the file on disk. The
// tree is never written to: a run stopped at any point leaves nothing behind.
//
// TOKENFETCH_MUTANT names a JSON file: { file, find, replace, marker }. The plugin replaces
// the one occurrence of `find` in `file` (absolute) and, when it does, writes `marker`, so
// the runner knows the mutant reached the tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import base from '../vitest.config.ts';

const spec = process.env.TOKENFETCH_MUTANT;
if (spec === undefined) throw new Error('TOKENFETCH_MUTANT is not set: run scripts/mutants.mjs');
const mutant = JSON.parse(readFileSync(spec, 'utf8'));

/** @type {import('vite').Plugin} */
const serveMutant = {
  name: 'tokenfetch-mutant',
  enforce: 'pre',
  load(id) {
    if (id.split('?')[0] !== mutant.file) return null;
    const source = readFileSync(mutant.file, 'utf8');
    const at = source.indexOf(mutant.find);
    if (at === -1 || source.indexOf(mutant.find, at + 1) !== -1) {
      throw new Error(`mutant: the text to replace is not in ${mutant.file} exactly once`);
    }
    writeFileSync(mutant.marker, 'served');
    return source.slice(0, at) + mutant.replace + source.slice(at + mutant.find.length);
  },
};

export default mergeConfig(base, {
  root: fileURLToPath(new URL('..', import.meta.url)),
  plugins: [serveMutant],
  test: { typecheck: { enabled: false }, coverage: { enabled: false } },
});

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Core's folders are its layers, lowest first (the README's "Development" section draws
// them). A file imports from its own folder or from a folder below it, never above, and no
// import chain comes back to where it started.
const layers = [
  'shared',
  'guards',
  'transport',
  'platform',
  'engine',
  'auth',
  'client',
  'adapter-kit',
  '.', // the two entry points: index.ts and adapter.ts
];

const src = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The source files a file imports: relative specifiers, and `#platform` (both builds). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
  return specifiers.flatMap((specifier) => {
    if (specifier === '#platform')
      return [join(src, 'platform/node.ts'), join(src, 'platform/web.ts')];
    if (!specifier.startsWith('.')) return [];
    return [resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))];
  });
}

const layerOf = (file: string) => {
  const folder = relative(src, dirname(file)) || '.';
  return layers.indexOf(folder.split('/')[0]!);
};

const files = sources(src);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('core layers', () => {
  it('puts every source file in a known layer folder', () => {
    const outside = files.filter((file) => layerOf(file) === -1).map((file) => relative(src, file));
    expect(outside).toEqual([]);
  });

  it('imports only from the same layer or a lower one', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => layerOf(target) > layerOf(file))
        .map((target) => `${relative(src, file)} → ${relative(src, target)}`),
    );
    expect(upward).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push(
          [...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' → '),
        );
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractSnippets, importedPackages, installedPackages } from './extract.mjs';

const fence = '```';
const md = (...lines: string[]) => lines.join('\n');

describe('extractSnippets', () => {
  it('makes each ts, tsx and js block a snippet, with the line of its first code line', () => {
    const { snippets, problems } = extractSnippets(
      md('# Title', '', `${fence}ts`, 'const a = 1;', fence, '', `${fence}js`, 'b();', fence),
      'README.md',
    );
    expect(problems).toEqual([]);
    expect(snippets).toMatchObject([
      { file: 'README.md', line: 4, extension: '.ts', code: 'const a = 1;\n', run: undefined },
      { line: 8, extension: '.js', code: 'b();\n' },
    ]);
  });

  it('leaves blocks of other languages alone, and fails a block with no language', () => {
    const { snippets, problems } = extractSnippets(
      md(`${fence}sh`, 'npm test', fence, `${fence}text`, 'out', fence, fence, 'what?', fence),
      'a.md',
    );
    expect(snippets).toEqual([]);
    expect(problems).toEqual([
      'a.md:7: a code block without a language: tag it (```ts is compiled; ```sh, ```text… are not)',
    ]);
  });

  it('skips a block marked skip, with its reason; a skip without one is a problem', () => {
    const skipped = extractSnippets(
      md('<!-- snippet: skip needs a Workers runtime -->', `${fence}ts`, 'x;', fence),
      'a.md',
    );
    expect(skipped.snippets).toEqual([]);
    expect(skipped.skipped).toEqual([{ file: 'a.md', line: 2, reason: 'needs a Workers runtime' }]);
    expect(skipped.problems).toEqual([]);

    const bare = extractSnippets(md('<!-- snippet: skip -->', `${fence}ts`, 'x;', fence), 'a.md');
    expect(bare.problems).toEqual(['a.md:1: skip needs a reason: <!-- snippet: skip REASON -->']);
  });

  it('puts a prelude before the code, remembering where it is written', () => {
    const { snippets, problems } = extractSnippets(
      md(
        'text',
        '<!-- snippet: prelude',
        "import express from 'express';",
        'const app = express();',
        '-->',
        '',
        `${fence}ts`,
        'app.listen(3000);',
        fence,
      ),
      'a.md',
    );
    expect(problems).toEqual([]);
    expect(snippets[0]).toMatchObject({
      line: 8,
      prelude: ["import express from 'express';", 'const app = express();'],
      preludeLine: 3,
    });
  });

  it('reads run, serve and file directives', () => {
    const { snippets, problems } = extractSnippets(
      md(
        '<!-- snippet: serve /me -->',
        '<!-- snippet: file api.d.ts examples/typed-client/src/api.d.ts -->',
        `${fence}ts`,
        'a;',
        fence,
        '<!-- snippet: run -->',
        `${fence}ts`,
        'b;',
        fence,
      ),
      'a.md',
    );
    expect(problems).toEqual([]);
    expect(snippets.map((s) => [s.run, s.files])).toEqual([
      [
        { kind: 'serve', path: '/me' },
        [{ name: 'api.d.ts', path: 'examples/typed-client/src/api.d.ts' }],
      ],
      [{ kind: 'run' }, []],
    ]);
  });

  it('fails a directive that is unknown, misplaced, or on a block that is not compiled', () => {
    const { problems } = extractSnippets(
      md(
        '<!-- snippet: compile-only -->',
        `${fence}ts`,
        'a;',
        fence,
        '<!-- snippet: run -->',
        'Some text between.',
        `${fence}ts`,
        'b;',
        fence,
        '<!-- snippet: serve /me -->',
        `${fence}sh`,
        'npm start',
        fence,
        '<!-- snippet: run -->',
      ),
      'a.md',
    );
    expect(problems).toEqual([
      'a.md:1: unknown snippet directive "compile-only" (skip, prelude, file, run, serve)',
      'a.md:5: a snippet directive must come right before a code block',
      'a.md:10: a snippet directive on a ```sh block, which is not compiled',
      'a.md:14: a snippet directive with no code block after it',
    ]);
  });
});

describe('installedPackages', () => {
  it('reads npm install lines of shell blocks: names without versions, flags and comments', () => {
    const markdown = md(
      `${fence}sh`,
      'npm install @tokenfetch/express express@^5   # the app',
      'npm install --save-dev @types/express',
      'npm i -D typescript@latest',
      'npm install --global @tokenfetch/cli',
      'npx tokenfetch-mock',
      fence,
      `${fence}ts`,
      '// npm install not-this-one (a comment in code)',
      fence,
    );
    expect([...installedPackages(markdown)].sort()).toEqual([
      '@tokenfetch/express',
      '@types/express',
      'express',
      'typescript',
    ]);
  });
});

describe('importedPackages', () => {
  it('names the packages imported in every form, without built-ins and relative files', () => {
    const code = md(
      "import express from 'express';",
      "import type { Redis } from 'ioredis';",
      "import { serve } from '@hono/node-server/vercel';",
      "import 'reflect-metadata';",
      "const zod = await import('zod');",
      "export { main } from '@tokenfetch/cli';",
      "import { readFile } from 'node:fs/promises';",
      "import { once } from 'events';",
      "import type { paths } from './api.js';",
    );
    expect([...importedPackages(code)].sort()).toEqual([
      '@hono/node-server',
      '@tokenfetch/cli',
      'express',
      'ioredis',
      'reflect-metadata',
      'zod',
    ]);
  });
});

describe("this repository's READMEs", () => {
  it('have every code block compiled, marked as another language, or skipped with a reason', () => {
    const root = new URL('../../', import.meta.url);
    const readmes = [
      'README.md',
      ...readdirSync(new URL('packages/', root)).map((name) => `packages/${name}/README.md`),
    ].filter((path) => existsSync(new URL(path, root)));
    const problems = readmes.flatMap((path) => {
      const text = readFileSync(new URL(path, root), 'utf8');
      return extractSnippets(text, path).problems;
    });
    expect(problems).toEqual([]);
  });
});

describe('listen-on-free-port.mjs', () => {
  it('moves a listen(3000) to a free port and prints the port', async () => {
    const preload = new URL('listen-on-free-port.mjs', import.meta.url).href;
    const script =
      "require('node:http').createServer((q, s) => s.end('ok')).listen(3000, () => {})";
    const child = spawn(process.execPath, ['--import', preload, '-e', script]);
    const exited = once(child, 'exit').then(() => {
      throw new Error('the server exited');
    });
    exited.catch(() => {}); // once killed below
    try {
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      let port: string | undefined;
      while ((port = /listening on port (\d+)/.exec(stderr)?.[1]) === undefined) {
        await Promise.race([once(child.stderr, 'data'), exited]);
      }
      expect(port).not.toBe('3000');
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    } finally {
      child.kill();
    }
  });
});

#!/usr/bin/env node
// Every `npm install` line of the READMEs (root and packages/*), run as written on this
// Node with the packed tarballs (.tarballs/) in place of @tokenfetch/* (which npm would
// fetch from the registry): `npm install --dry-run`, which resolves the whole tree as a
// real install does, in an empty project and in apps already on each supported major of
// the framework or client the line names (fresh NestJS 11 and 12 apps for
// @tokenfetch/nestjs). A line fails on ERESOLVE, a conflicting or unmet peer dependency,
// or a package it names that does not support this Node (EBADENGINE): what a user of that
// README would hit. A dependency of another project's package that does not support this
// Node is printed as a note.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const tarballs = new Map(
  readdirSync(join(root, '.tarballs'))
    .filter((file) => file.endsWith('.tgz'))
    .map((file) => [`@${file.replace(/-\d+\.\d+\.\d+.*\.tgz$/, '').replace('-', '/')}`, file]),
);
const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages')).map((name) => `packages/${name}/README.md`),
];

/** `npm install` lines of the README's sh code blocks, without comments. */
function installLines(readme) {
  const lines = [];
  let inShell = false;
  for (const line of readFileSync(join(root, readme), 'utf8').split('\n')) {
    if (/^```/.test(line)) inShell = !inShell && /^```(sh|bash|shell)\b/.test(line);
    else if (inShell && /^npm (install|i)\s/.test(line)) lines.push(line.replace(/\s+#.*$/, ''));
  }
  return lines;
}

/**
 * The apps a line joins, besides an empty project: one on each supported major of a
 * framework or client the line names (the READMEs' version tables), which the line keeps
 * (in an empty project npm may pick an older major that suits the peer ranges); fresh
 * NestJS apps (their starters' dependencies) for @tokenfetch/nestjs.
 */
const majors = {
  express: ['^4.17.0', '^5.0.0'],
  koa: ['^2.0.0', '^3.0.0'],
  fastify: ['^4.0.0', '^5.0.0'],
  hono: ['^4.0.0'],
  ioredis: ['^5.0.0', '^6.0.0'],
  redis: ['^4.6.0', '^5.0.0', '^6.0.0'],
};
const nestApp = (major) => ({
  '@nestjs/common': `^${major}.0.1`,
  '@nestjs/core': `^${major}.0.1`,
  '@nestjs/platform-express': `^${major}.0.1`,
  'reflect-metadata': '^0.2.2',
  rxjs: '^7.8.1',
});
const contexts = (packages) => [
  ['an empty project', {}],
  ...packages.flatMap((name) =>
    (majors[name] ?? []).map((range) => [`an app on ${name}@${range}`, { [name]: range }]),
  ),
  ...(packages.includes('@tokenfetch/nestjs')
    ? [
        ['a NestJS 11 app', nestApp(11)],
        ['a NestJS 12 app', nestApp(12)],
      ]
    : []),
];

/** Runs one line in one context; resolves with the problem, or undefined. */
async function check(line, context, dependencies) {
  const words = line.split(/\s+/).slice(2);
  const packages = words.filter((word) => !word.startsWith('-'));
  const args = words
    .filter((word) => word !== '--global' && word !== '-g') // installed here, resolved alike
    .map((word) => {
      const name = word.replace(/(?<=.)@[^/]*$/, '');
      const tarball = tarballs.get(name);
      if (tarball !== undefined) return join(root, '.tarballs', tarball);
      // `npm install express` in an app on Express 4 would move it to the latest major.
      return word === name && dependencies[name] !== undefined
        ? `${name}@${dependencies[name]}`
        : word;
    });
  // The adapters depend on @tokenfetch/core, which is not on the registry either.
  if (packages.some((name) => name.startsWith('@tokenfetch/')))
    args.push(join(root, '.tarballs', tarballs.get('@tokenfetch/core')));
  const dir = mkdtempSync(join(tmpdir(), 'install-line-'));
  try {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'app', private: true, dependencies }),
    );
    const { stdout, stderr } = await run(
      'npm',
      ['install', '--dry-run', '--prefer-offline', '--no-audit', '--no-fund', ...args],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error) => ({ stdout: error.stdout ?? '', stderr: `${error.stderr}\n${error}` }));
    const output = `${stdout}\n${stderr}`;
    // A package that does not support this Node: a failure if the line names it (or it is
    // ours), a note if a dependency of another package brings it.
    const badEngines = [...output.matchAll(/EBADENGINE\s+package: '(@?[^@']+)@([^']+)'/g)].map(
      ([, name, version]) => ({ name, version }),
    );
    for (const { name, version } of badEngines) {
      if (!packages.includes(name) && !name.startsWith('@tokenfetch/')) {
        notes.add(
          `${name}@${version} (brought by ${packages.join(', ')}) does not support Node ${process.versions.node}`,
        );
      }
    }
    const named = badEngines.some(
      ({ name }) => packages.includes(name) || name.startsWith('@tokenfetch/'),
    );
    if (named || /ERESOLVE|conflicting peer|unmet peer|npm error/i.test(output)) {
      return `${line}\n  in ${context}:\n${output
        .split('\n')
        .filter((text) => /warn|error/i.test(text))
        .slice(0, 20)
        .join('\n')}`;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const jobs = readmes.flatMap((readme) =>
  installLines(readme).flatMap((line) =>
    contexts(line.split(/\s+/)).map(([context, dependencies]) => ({
      readme,
      line,
      context,
      dependencies,
    })),
  ),
);
if (jobs.length === 0) throw new Error('no npm install line found in the READMEs');

// A few at a time: each is mostly waiting on the registry.
const failures = [];
const notes = new Set();
let next = 0;
await Promise.all(
  Array.from({ length: 6 }, async () => {
    while (next < jobs.length) {
      const { readme, line, context, dependencies } = jobs[next++];
      const problem = await check(line, context, dependencies);
      console.log(`${problem === undefined ? 'ok  ' : 'FAIL'} ${readme}: ${line} (${context})`);
      if (problem !== undefined) failures.push(problem);
    }
  }),
);
for (const note of notes) console.log(`note: ${note}`);
if (failures.length > 0) {
  console.error(`\n${failures.join('\n\n')}`);
  process.exit(1);
}

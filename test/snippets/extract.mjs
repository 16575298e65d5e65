// Reads the code blocks of a README: which are snippets to compile (and run), which are
// marked as something else, and what the README's `npm install` lines install. No
// dependencies, so that it runs before anything is installed.
//
// A fenced block tagged ts, typescript, tsx, js, javascript, mjs or jsx is a snippet: it is
// compiled as a file of its own. A block tagged with another language (sh, text, promql…)
// is not code to compile. A block with no language is an error: say what it is.
//
// Directives, in HTML comments right before a block (blank lines between are fine), make a
// fragment compile or say what to do with a snippet; GitHub does not render them:
//
//   <!-- snippet: skip REASON -->     not compiled, and the summary says why
//   <!-- snippet: prelude             hidden lines put before the snippet (imports, an `app`)
//   import express from 'express';
//   -->
//   <!-- snippet: file NAME PATH -->  the repository's file PATH, as NAME beside the snippet
//   <!-- snippet: run -->             run it: it must exit with 0
//   <!-- snippet: serve PATH -->      a server: start it, GET PATH must answer 2xx, stop it
import { builtinModules } from 'node:module';

const compiled = new Map([
  ['ts', '.ts'],
  ['typescript', '.ts'],
  ['tsx', '.tsx'],
  ['js', '.js'],
  ['javascript', '.js'],
  ['mjs', '.mjs'],
  ['jsx', '.jsx'],
]);

/**
 * The blocks of one markdown file.
 * @param {string} markdown
 * @param {string} file the file's path, for messages
 */
export function extractSnippets(markdown, file) {
  const lines = markdown.split('\n');
  const snippets = [];
  const problems = [];
  const skipped = [];
  let pending = []; // directives waiting for their block
  let pendingLine = 0;
  const problem = (line, message) => problems.push(`${file}:${line}: ${message}`);

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const directive = /^\s*<!--\s*snippet:(.*)$/.exec(line);
    if (directive) {
      const start = i;
      const body = [directive[1]];
      while (!body.at(-1).includes('-->') && i + 1 < lines.length) body.push(lines[++i]);
      if (!body.at(-1).includes('-->')) {
        problem(start + 1, 'a snippet directive that is never closed with -->');
        break;
      }
      body[body.length - 1] = body.at(-1).slice(0, body.at(-1).lastIndexOf('-->'));
      const parsed = parseDirective(body, start + 1);
      if (typeof parsed === 'string') problem(start + 1, parsed);
      else pending.push(parsed);
      if (pending.length === 1) pendingLine = start + 1;
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (!fence) {
      if (line.trim() !== '' && pending.length > 0) {
        problem(pendingLine, 'a snippet directive must come right before a code block');
        pending = [];
      }
      continue;
    }
    const [, indent, marker, info] = fence;
    const open = i;
    const code = [];
    for (i++; i < lines.length; i++) {
      const closing = new RegExp(`^\\s*${marker[0]}{${marker.length},}\\s*$`);
      if (closing.test(lines[i])) break;
      code.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
    }
    if (i === lines.length) problem(open + 1, 'a code block that is never closed');
    const language = info.toLowerCase();
    const directives = pending;
    pending = [];
    const skip = directives.find((d) => d.kind === 'skip');
    if (language === '') {
      if (!skip) {
        problem(
          open + 1,
          'a code block without a language: tag it (```ts is compiled; ```sh, ```text… are not)',
        );
      }
      continue;
    }
    const extension = compiled.get(language);
    if (extension === undefined) {
      if (directives.length > 0) {
        problem(
          pendingLine,
          `a snippet directive on a \`\`\`${language} block, which is not compiled`,
        );
      }
      continue;
    }
    if (skip) {
      if (directives.length > 1) problem(pendingLine, 'skip goes alone: nothing else applies');
      skipped.push({ file, line: open + 1, reason: skip.reason });
      continue;
    }
    const prelude = directives.filter((d) => d.kind === 'prelude');
    const modes = directives.filter((d) => d.kind === 'run' || d.kind === 'serve');
    if (modes.length > 1) problem(pendingLine, 'at most one of run and serve');
    snippets.push({
      file,
      line: open + 2, // the block's first line of code
      extension,
      code: code.join('\n') + '\n',
      prelude: prelude.flatMap((d) => d.lines),
      preludeLine: prelude[0]?.line ?? 0,
      files: directives.filter((d) => d.kind === 'file').map(({ name, path }) => ({ name, path })),
      run: modes[0] ? (modes[0].kind === 'run' ? { kind: 'run' } : modes[0]) : undefined,
    });
  }
  if (pending.length > 0) problem(pendingLine, 'a snippet directive with no code block after it');
  return { snippets, skipped, problems };
}

/**
 * @param {string[]} body the comment's lines, `<!-- snippet:` and `-->` taken off
 * @param {number} line
 */
function parseDirective(body, line) {
  const [first = '', ...rest] = body;
  const [kind = '', ...words] = first.trim().split(/\s+/);
  const argument = words.join(' ');
  switch (kind) {
    case 'skip':
      if (argument === '') return 'skip needs a reason: <!-- snippet: skip REASON -->';
      return { kind, reason: argument };
    case 'prelude':
      if (argument !== '') return 'prelude takes its code on the lines after it';
      while (rest.length > 0 && rest.at(-1).trim() === '') rest.pop();
      return { kind, line: line + 1, lines: rest };
    case 'file':
      if (words.length !== 2 || !/^[\w.-]+$/.test(words[0])) {
        return 'file takes a NAME and the PATH of a file of this repository';
      }
      return { kind, name: words[0], path: words[1] };
    case 'run':
      if (argument !== '') return 'run takes no argument';
      return { kind };
    case 'serve':
      if (!argument.startsWith('/') || words.length !== 1) return 'serve takes a PATH, e.g. /me';
      return { kind, path: argument };
    default:
      return `unknown snippet directive ${JSON.stringify(kind)} (skip, prelude, file, run, serve)`;
  }
}

/**
 * The packages the README's `npm install` lines (in ```sh blocks) install, `--global`
 * ones aside, without their version ranges.
 * @param {string} markdown
 */
export function installedPackages(markdown) {
  const packages = new Set();
  let inShell = false;
  for (const line of markdown.split('\n')) {
    const fence = /^\s*(`{3,}|~{3,})\s*(\S*)/.exec(line);
    if (fence) {
      inShell = !inShell && ['sh', 'bash', 'shell', 'console'].includes(fence[2]);
      continue;
    }
    if (!inShell) continue;
    const command = line.replace(/#.*$/, '').trim();
    const words = command.split(/\s+/);
    if (words[0] !== 'npm' || !['install', 'i', 'add'].includes(words[1] ?? '')) continue;
    if (words.includes('--global') || words.includes('-g')) continue;
    for (const word of words.slice(2)) {
      if (word.startsWith('-')) continue;
      packages.add(packageName(word.replace(/(?<=.)@[^/]*$/, '')));
    }
  }
  return packages;
}

/**
 * The packages a piece of code imports (`import … from`, `import '…'`, `import('…')`,
 * `export … from`), Node's built-in modules and relative paths left out.
 * @param {string} code
 */
export function importedPackages(code) {
  const packages = new Set();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"\n]+)\1/g;
  for (const [, , specifier] of code.matchAll(pattern)) {
    if (specifier.startsWith('.') || specifier.startsWith('/')) continue;
    if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    // workerd's own modules (cloudflare:workers, cloudflare:sockets): no package to install.
    if (specifier.startsWith('cloudflare:')) continue;
    packages.add(packageName(specifier));
  }
  return packages;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

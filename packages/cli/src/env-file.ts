import { readFile } from 'node:fs/promises';
import { UsageError } from './usage-error.js';

const assignment = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=/;
const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/**
 * Parses a dotenv file: `KEY=VALUE` lines, blank lines, `#` comments, an optional
 * `export ` prefix. Values may be single-quoted (literal), double-quoted (`\n`, `\t`, `\"`,
 * `\\` escapes) or backquoted, and quoted values may span lines. In an unquoted value a
 * `#` after whitespace starts a comment (`PASSWORD=a#b` keeps the `#`). No `${VAR}`
 * expansion. A malformed line is an error that names the line, never its content (it may
 * hold a secret).
 *
 * @example parseEnvFile('API_BASE_URL=https://acme.resolver.com/api # prod\n')
 */
export function parseEnvFile(text: string, source = 'env file'): Record<string, string> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const values: Record<string, string> = {};
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = (lines[index] ?? '').trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const match = assignment.exec(line);
    if (match === null) {
      throw new UsageError(`${source}, line ${lineNumber}: expected KEY=VALUE`);
    }
    const key = match[1] ?? '';
    // The whitespace after `=` is kept until the comment is cut: `KEY= #x` is a comment,
    // `KEY=#x` the value `#x`.
    const afterEquals = line.slice(match[0].length);
    let rest = afterEquals.replace(/^[ \t]+/, '');
    const quote = rest[0];
    if (quote !== '"' && quote !== "'" && quote !== '`') {
      values[key] = afterEquals
        .replace(/[ \t]#.*$/, '')
        .replace(/^[ \t]+/, '')
        .trimEnd();
      continue;
    }
    // A quoted value: read on, across lines, up to the closing quote.
    let value = '';
    let closed = false;
    rest = rest.slice(1);
    for (;;) {
      for (let at = 0; at < rest.length; at++) {
        const char = rest[at] ?? '';
        if (quote === '"' && char === '\\' && at + 1 < rest.length) {
          const next = rest[at + 1] ?? '';
          value += escapes[next] ?? `\\${next}`;
          at++;
        } else if (char === quote) {
          const after = rest.slice(at + 1).trim();
          if (after !== '' && !after.startsWith('#')) {
            throw new UsageError(
              `${source}, line ${index + 1}: unexpected text after the closing quote`,
            );
          }
          closed = true;
          break;
        } else {
          value += char;
        }
      }
      if (closed) break;
      index++;
      if (index >= lines.length) {
        throw new UsageError(`${source}, line ${lineNumber}: the quoted value is never closed`);
      }
      value += '\n';
      rest = lines[index] ?? '';
    }
    values[key] = value;
  }
  return values;
}

/** Reads and parses a dotenv file; a missing or unreadable file is a usage error. */
export async function readEnvFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : typeof code === 'string' ? code : 'unreadable';
    throw new UsageError(`cannot read the env file ${path}: ${why}`);
  }
  return parseEnvFile(text, `env file ${path}`);
}

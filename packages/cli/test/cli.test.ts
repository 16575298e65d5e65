import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { logoutHelp, requestHelp, tokenHelp, topHelp } from '../src/help.js';
import { main } from '../src/index.js';
import { apiKeyEnv, assertBuilt, closedPort, oneErrorLine, runCli, sessionEnv } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The Markdown files at or under `url`, outside node_modules and build output. */
function markdownFiles(url: URL): URL[] {
  if (url.pathname.endsWith('.md')) return [url];
  return readdirSync(url, { withFileTypes: true }).flatMap((entry) => {
    if (['node_modules', 'dist'].includes(entry.name) || entry.name.startsWith('.')) return [];
    if (entry.isDirectory()) return markdownFiles(new URL(`${entry.name}/`, url));
    return entry.name.endsWith('.md') ? [new URL(entry.name, url)] : [];
  });
}

let mock: MockUpstream;
beforeAll(async () => {
  assertBuilt();
  mock = await startMockUpstream();
});
afterAll(() => mock.close());

describe('tokenfetch help and usage', () => {
  it('--help at the top lists the commands, the environment and the exit codes', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await runCli(args);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('Usage: tokenfetch <command> [options]');
      expect(result.stdout).toContain('request METHOD PATH');
      expect(result.stdout).toContain('API_BASE_URL');
      expect(result.stdout).toContain('6 upstream answered non-2xx');
    }
  });

  it('--help on each command explains its options, and makes no call', async () => {
    const token = await runCli(['token', '--help'], { env: sessionEnv(mock) });
    expect(token.code).toBe(0);
    expect(token.stdout).toContain('Usage: tokenfetch token');
    expect(token.stdout).toContain('--header');
    for (const args of [
      ['request', '--help'],
      ['help', 'request'],
      ['--help', 'request'],
    ]) {
      const request = await runCli(args);
      expect(request.code).toBe(0);
      expect(request.stdout).toContain('Usage: tokenfetch request METHOD PATH');
      expect(request.stdout).toContain('-d, --data');
    }
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('no help text and no document puts a token on a command line (ps shows it)', () => {
    const root = new URL('../../../', import.meta.url);
    const documents = ['README.md', 'docs/', 'packages/', 'examples/'].flatMap((top) =>
      markdownFiles(new URL(top, root)),
    );
    expect(documents.length).toBeGreaterThan(10);
    // A token handed to curl (or wget, httpie) as an argument: a $(tokenfetch token ...)
    // inside its command, or the variable it was saved in.
    const leak = /\b(?:curl|wget|http)\b[^|\n]*(?:\$\(\s*tokenfetch\s+token|Bearer \$)/;
    const texts = [
      ...[topHelp, tokenHelp, requestHelp, logoutHelp].map((text) => ({ name: 'help', text })),
      ...documents.map((url) => ({
        name: url.pathname,
        // The commands a document shows: its code blocks.
        text: [...readFileSync(url, 'utf8').matchAll(/```[^\n]*\n([\s\S]*?)```/g)]
          .map((block) => block[1])
          .join('\n'),
      })),
    ];
    for (const { name, text } of texts) expect(leak.exec(text), name).toBeNull();
    // What they teach instead: the header on curl's stdin.
    const piped = 'tokenfetch token --header | curl -H @- ';
    for (const text of [topHelp, tokenHelp, readFileSync(new URL('README.md', root), 'utf8')]) {
      expect(text).toContain(piped);
    }
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(piped);
  });

  it('--version prints the package version', async () => {
    for (const args of [['--version'], ['-v']]) {
      const result = await runCli(args);
      expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });

  it('exits 2 without a command, with an unknown command or option', async () => {
    const cases: [string[], string][] = [
      [[], 'tokenfetch: missing command: token, request or logout (see tokenfetch --help)'],
      [['tokens'], 'tokenfetch: unknown command "tokens": use token, request or logout'],
      [['token', '--bogus=1'], 'tokenfetch: unknown option --bogus (see tokenfetch token --help)'],
      [['--json', 'token'], 'tokenfetch: --json goes after the command'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(oneErrorLine(result.stderr)).toContain(message);
    }
  });

  it('answers a usage error without reading stdin, even when a large input is piped in', async () => {
    // The bin exits before it reads a byte, so the pipe closes under the writer (EPIPE).
    const result = await runCli(['tokens'], { input: 'x'.repeat(8 << 20) });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toContain('unknown command "tokens"');
  });
});

describe('secrets on the command line', () => {
  it('refuses --password with a reason, never repeating the value', async () => {
    const canary = 'canary-flag-Pw-91';
    for (const args of [
      ['token', '--password', canary],
      ['token', `--password=${canary}`],
      ['--password', canary, 'request', 'GET', '/x'],
    ]) {
      const result = await runCli(args, { env: sessionEnv(mock) });
      expect(result.code).toBe(2);
      const line = oneErrorLine(result.stderr);
      expect(line).toContain('--password is not accepted');
      expect(line).toContain('API_PASSWORD');
      expect(result.stdout + result.stderr).not.toContain(canary);
    }
  });

  it('refuses --api-key the same way', async () => {
    const result = await runCli(['request', 'GET', '/x', '--api-key=canary-key-12']);
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toContain('--api-key is not accepted');
    expect(result.stderr).not.toContain('canary-key-12');
  });
});

describe('errors are one line, without a stack or the password', () => {
  it('for every kind of failure', async () => {
    const canary = 'canary-Every-Err-5d1';
    const port = await closedPort();
    const env = { ...sessionEnv(mock), API_PASSWORD: canary };
    const cases: [string[], Record<string, string>, number][] = [
      [['token'], env, 3],
      [['token'], { ...env, API_BASE_URL: `http://127.0.0.1:${port}/api` }, 5],
      [['token'], { ...env, API_BASE_URL: 'not a url' }, 2],
      [['token'], { ...env, API_LOGIN_TIMEOUT_MS: 'soon' }, 2],
      [['request', 'GET', '/user/users/me'], env, 3],
      [['request', 'GET', 'https://elsewhere.example/'], env, 5],
      [['request', 'GET', '/x'], { ...env, API_KEY: 'also-set' }, 2],
    ];
    for (const [args, caseEnv, code] of cases) {
      const result = await runCli(args, { env: caseEnv });
      expect(result.code, `${args.join(' ')} ${JSON.stringify(caseEnv)}`).toBe(code);
      oneErrorLine(result.stderr);
      expect(result.stdout + result.stderr).not.toContain(canary);
      expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
    }
  });
});

describe('main() in-process', () => {
  // In-process, the cache would be the real user's: these runs keep none.
  function io(env: Record<string, string> = {}) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    return {
      io: { env: { ...env, TOKENFETCH_CACHE: 'off' }, stdin: new PassThrough(), stdout, stderr },
      output: () => ({ out, err }),
    };
  }

  it('resolves with the exit code and never rejects', async () => {
    const ok = io(apiKeyEnv(mock));
    expect(await main(['request', 'GET', '/user/users/me'], ok.io)).toBe(0);
    expect(JSON.parse(ok.output().out)).toMatchObject({ id: 0 });

    const failed = io({ ...sessionEnv(mock), API_PASSWORD: 'wrong' });
    expect(await main(['token'], failed.io)).toBe(3);
    expect(failed.output().err).toBe(
      'tokenfetch: login refused: invalid credentials (401): check the email and password\n',
    );
  });

  it('resolves with 1, not a rejection, when stdout and stderr both fail and the environment throws', async () => {
    const broken = () =>
      new Writable({
        write(_chunk, _encoding, callback) {
          callback(Object.assign(new Error('disk gone'), { code: 'EIO' }));
        },
      });
    // The token is fetched, then writing it fails; so does writing the error line.
    const env = { ...apiKeyEnv(mock), TOKENFETCH_CACHE: 'off' };
    const failingOutput = { env, stdin: new PassThrough(), stdout: broken(), stderr: broken() };
    expect(await main(['request', 'GET', '/user/users/me'], failingOutput)).toBe(1);

    const throwingEnv = new Proxy(env, {
      ownKeys() {
        throw new Error('no environment');
      },
    });
    const stderr = io().io.stderr;
    let err = '';
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const hostile = { env: throwingEnv, stdin: new PassThrough(), stdout: broken(), stderr };
    expect(await main(['token'], hostile)).toBe(1);
    expect(err).toBe('tokenfetch: unexpected error: Error: no environment\n');
  });
});

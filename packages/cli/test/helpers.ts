import {
  spawn,
  spawnSync,
  type ChildProcessWithoutNullStreams,
  type SpawnOptions,
} from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_API_KEY, DEMO_USER, type MockUpstream } from '@tokenfetch/mock-upstream';

/** The real bin, as users run it. It imports dist/: build first (`pnpm build`). */
export const binPath = fileURLToPath(new URL('../bin/tokenfetch.js', import.meta.url));
const distBin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(distBin)) {
    throw new Error(
      'packages/cli/dist is missing: run `pnpm --filter @tokenfetch/cli build` first',
    );
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The session environment for the mock upstream. */
export function sessionEnv(mock: MockUpstream): Record<string, string> {
  return {
    API_BASE_URL: mock.baseUrl,
    API_EMAIL: DEMO_USER.email,
    API_PASSWORD: DEMO_USER.password,
    API_ORG_ID: '1',
  };
}

/** The API-key environment for the mock upstream. */
export function apiKeyEnv(mock: MockUpstream): Record<string, string> {
  return { API_BASE_URL: mock.baseUrl, API_KEY: DEMO_API_KEY };
}

/**
 * Spawns with a clean environment: PATH and `env`, nothing inherited from the test runner.
 * Unless `env` says where the token cache is (or turns it off), each run gets a cache of its
 * own, empty as on a fresh machine, removed when the run ends.
 */
function spawnClean(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  options: Omit<SpawnOptions, 'env'> = {},
): ChildProcessWithoutNullStreams {
  const own = env.XDG_CACHE_HOME === undefined && env.TOKENFETCH_CACHE === undefined;
  const cache = own ? mkdtempSync(join(tmpdir(), 'tokenfetch-cache-')) : undefined;
  const child = spawn(file, args, {
    ...options,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(cache === undefined ? {} : { XDG_CACHE_HOME: cache }),
      ...env,
    },
  });
  if (cache !== undefined) {
    child.on('close', () => rmSync(cache, { recursive: true, force: true }));
  }
  // Every caller pipes what it reads; runCliIntoHead hands stdout on and reads stderr.
  return child as ChildProcessWithoutNullStreams;
}

/**
 * Runs `node bin/tokenfetch.js …` with pipes (no terminal), `input` on stdin; with `umask`,
 * under that umask (through `sh`).
 */
export function runCli(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    cwd?: string;
    timeoutMs?: number;
    umask?: string;
  } = {},
): Promise<CliResult> {
  const argv = [process.execPath, binPath, ...args];
  const [file, fileArgs] =
    options.umask === undefined
      ? [process.execPath, argv.slice(1)]
      : ['/bin/sh', ['-c', 'umask "$1" && shift && exec "$@"', 'sh', options.umask, ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawnClean(
      file,
      fileArgs,
      options.env ?? {},
      options.cwd === undefined ? {} : { cwd: options.cwd },
    );
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tokenfetch ${args.join(' ')}: no exit within the timeout`));
    }, options.timeoutMs ?? 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A bin that exits before reading its input (a usage error, a missing file) closes the
    // pipe first; the write then fails with EPIPE, which is that outcome, not a test error.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(error);
      }
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `tokenfetch … | head -c BYTES`: the bin's stdout is a pipe into `head`, which exits
 * after BYTES bytes. Resolves with the bin's exit code and stderr and what head printed.
 */
export function runCliIntoHead(
  args: readonly string[],
  bytes: number,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnClean(process.execPath, [binPath, ...args], options.env ?? {}, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const head = spawn('head', ['-c', String(bytes)], { stdio: [child.stdout, 'pipe', 'inherit'] });
    // head reads the pipe from here on; this process lets go of its end.
    child.stdout.destroy();
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      head.kill('SIGKILL');
      reject(new Error(`tokenfetch ${args.join(' ')} | head: no exit within the timeout`));
    }, options.timeoutMs ?? 10_000);
    head.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const headClosed = new Promise((done) => head.on('close', done));
    child.on('error', reject);
    child.on('close', (code) => {
      void headClosed.then(() => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  });
}

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr), `\r\n` turned into `\n`. */
  output: string;
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Runs the bin on a pseudo-terminal (util-linux `script`, else python3's `pty`), so that
 * stdin and stdout are TTYs. Each time the output first matches `when`, `send` is typed.
 */
export function runInPty(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    answers?: readonly { when: RegExp; send: string }[];
    timeoutMs?: number;
  } = {},
): Promise<PtyResult> {
  const argv = [process.execPath, binPath, ...args];
  const [file, fileArgs] = hasScript
    ? ['script', ['-qfec', argv.map(quote).join(' '), '/dev/null']]
    : [
        'python3',
        [
          '-c',
          'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))',
          ...argv,
        ],
      ];
  return new Promise((resolve, reject) => {
    const child = spawnClean(file, fileArgs, options.env ?? {});
    const pending = [...(options.answers ?? [])];
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tokenfetch ${args.join(' ')} on a pty: no exit; output so far: ${output}`));
    }, options.timeoutMs ?? 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const next = pending[0];
      if (next !== undefined && next.when.test(output)) {
        pending.shift();
        child.stdin.write(next.send);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output: output.replaceAll('\r\n', '\n') });
    });
  });
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Asserts the shape of an expected error: exactly one `tokenfetch: …` line, no stack. */
export function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line !== '');
  if (lines.length !== 1 || !lines[0]?.startsWith('tokenfetch: ') || /\n\s+at /.test(stderr)) {
    throw new Error(`expected one "tokenfetch: …" line on stderr, got: ${JSON.stringify(stderr)}`);
  }
  return lines[0];
}

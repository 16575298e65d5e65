import { readFileSync } from 'node:fs';
import { ConfigError, isTokenFetchError } from '@tokenfetch/core';
import { scrubSecrets } from '@tokenfetch/core/adapter';
import { refuseSecretFlags } from './args.js';
import { runLogout } from './commands/logout.js';
import { runRequest } from './commands/request.js';
import { runToken } from './commands/token.js';
import { readEnvFile } from './env-file.js';
import { exitCodeFor, exitCodes } from './exit-codes.js';
import { logoutHelp, requestHelp, tokenHelp, topHelp } from './help.js';
import { guardWrites, write, type CliIo, type CommandContext } from './io.js';
import { promptSecret } from './prompt.js';
import { UsageError } from './usage-error.js';

export type { CliIo } from './io.js';

const commands: Record<string, (args: string[], context: CommandContext) => Promise<number>> = {
  token: runToken,
  request: runRequest,
  logout: runLogout,
};
const helps: Record<string, string> = {
  token: tokenHelp,
  request: requestHelp,
  logout: logoutHelp,
};

/**
 * Runs `tokenfetch` with `argv` (without `node` and the script) and resolves with the exit
 * code. Never rejects and never prints a stack or a secret: an error is one line on stderr,
 * `tokenfetch: <message>`.
 *
 * @example process.exitCode = await main(process.argv.slice(2), { env: process.env, ... })
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const secrets = new Set<string>();
  const warned = new Set<string>();
  const context: CommandContext = {
    io,
    async loadEnv(envFile) {
      return envFile === undefined ? { ...io.env } : { ...io.env, ...(await readEnvFile(envFile)) };
    },
    askPassword:
      io.stdinIsTTY === true
        ? (email) => promptSecret(`Password for ${email}: `, io.stdin, io.stderr)
        : undefined,
    onSecret: (secret) => {
      if (secret !== '') secrets.add(secret);
    },
    warn: (message) => {
      const line = oneLine(scrubSecrets(message, secrets));
      if (warned.has(line)) return;
      warned.add(line);
      write(io.stderr, `tokenfetch: warning: ${line}\n`).catch(() => {});
    },
  };
  // Core's timers (login backoff, timeouts) are unref'd so that servers can exit; a command
  // line tool must stay up while it waits on them.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const unguard = guardWrites(io.stdout, io.stderr);
  try {
    refuseSecretFlags(argv);
    const { leading, command, rest } = splitCommand(argv);
    if (command === undefined) {
      if (leading.includes('--version') || leading.includes('-v')) {
        await write(io.stdout, `${version()}\n`);
        return exitCodes.ok;
      }
      if (leading.includes('--help') || leading.includes('-h')) {
        await write(io.stdout, topHelp);
        return exitCodes.ok;
      }
      throw new UsageError('missing command: token, request or logout', { command: '' });
    }
    if (command === 'help') {
      const topic = rest[0];
      await write(io.stdout, topic === undefined ? topHelp : (helps[topic] ?? topHelp));
      return exitCodes.ok;
    }
    const run = commands[command];
    if (run === undefined) {
      const shown = /^[a-z-]{1,20}$/.test(command) ? ` "${command}"` : '';
      throw new UsageError(`unknown command${shown}: use token, request or logout`, {
        command: '',
      });
    }
    if (leading.includes('--version') || leading.includes('-v')) {
      await write(io.stdout, `${version()}\n`);
      return exitCodes.ok;
    }
    return await run([...leading, ...rest], context);
  } catch (error) {
    await write(io.stderr, `tokenfetch: ${describe(error, secrets)}\n`).catch(() => {});
    return exitCodeFor(error);
  } finally {
    clearInterval(keepAlive);
    unguard();
  }
}

/**
 * Splits `[global options] command [args]`. Only `--env-file`, `--help` and `--version`
 * may come before the command; the command's own options come after it.
 */
function splitCommand(argv: readonly string[]): {
  leading: string[];
  command: string | undefined;
  rest: string[];
} {
  const leading: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (arg === '--env-file') {
      const value = argv[index + 1];
      if (value === undefined) throw new UsageError('--env-file needs a PATH', { command: '' });
      leading.push(arg, value);
      index++;
    } else if (arg.startsWith('--env-file=') || ['-h', '--help', '-v', '--version'].includes(arg)) {
      leading.push(arg);
    } else if (arg.startsWith('-')) {
      const name = arg.split('=', 1)[0] ?? arg;
      throw new UsageError(`${name} goes after the command: tokenfetch <command> [options]`, {
        command: '',
      });
    } else {
      return { leading, command: arg, rest: argv.slice(index + 1) };
    }
  }
  return { leading, command: undefined, rest: [] };
}

/** One line, for humans: what went wrong, never a stack, never a secret. */
function describe(error: unknown, secrets: ReadonlySet<string>): string {
  let line: string;
  if (error instanceof UsageError) {
    const help =
      error.command === undefined
        ? ''
        : ` (see ${['tokenfetch', error.command, '--help'].filter(Boolean).join(' ')})`;
    line = error.message + help;
  } else if (error instanceof ConfigError) {
    const title = error.message.split(':\n', 1)[0] ?? 'invalid configuration';
    line = `${title}: ${error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`;
  } else if (isTokenFetchError(error)) {
    line = error.message + causeCode(error.cause);
  } else if (error instanceof Error && error.name === 'TimeoutError') {
    line = 'the call timed out (API_TIMEOUT_MS)';
  } else if (error instanceof TypeError && error.message === 'fetch failed') {
    line = `could not reach the API${causeCode(error.cause)}`;
  } else if (error instanceof Error) {
    line = `unexpected error: ${error.name}: ${error.message}${causeCode(error.cause)}`;
  } else {
    line = `unexpected error: ${String(error)}`;
  }
  return oneLine(scrubSecrets(line, secrets));
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** ` (ECONNREFUSED)`: the system error code of a cause, else its message, else nothing. */
function causeCode(cause: unknown): string {
  let current = cause;
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return ` (${code})`;
    if (!isTokenFetchError(current) && current.cause === undefined && current.message !== '') {
      return ` (${current.message})`;
    }
    current = current.cause;
  }
  return '';
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

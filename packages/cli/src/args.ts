import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/** Options every command takes. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  'env-file': { type: 'string' },
} as const;

/** Options of the commands that log in. */
export const connectionOptions = {
  ...commonOptions,
  'base-url': { type: 'string' },
  email: { type: 'string' },
  org: { type: 'string' },
} as const;

const refusedFlags: Record<string, string> = {
  '--password': 'set API_PASSWORD, or leave it unset on a terminal to be asked',
  '--api-key': 'set API_KEY',
};

/**
 * Refuses secrets on the command line before anything else reads it: a command line ends up
 * in shell history and in every user's process list. The value is never repeated.
 */
export function refuseSecretFlags(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const name = arg.split('=', 1)[0] ?? '';
    const fix = refusedFlags[name];
    if (fix !== undefined) {
      throw new UsageError(
        `${name} is not accepted: secrets on the command line leak through shell history and process lists; ${fix}`,
      );
    }
  }
}

/** `parseArgs`, strict, with errors as usage errors that never quote a value. */
export function parseCommandArgs<T extends ParseArgsConfig>(
  command: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^'=]+)/.exec(message)?.[1] ?? 'option';
      throw new UsageError(`unknown option ${option}`, { command });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(message, { command });
    }
    throw error;
  }
}

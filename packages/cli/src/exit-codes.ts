import { isTokenFetchError } from '@tokenfetch/core';
import { UsageError } from './usage-error.js';

/** What `tokenfetch` exits with. Stable: scripts may branch on these. */
export const exitCodes = {
  /** Done. */
  ok: 0,
  /** Anything unexpected (including a call that could not reach the API). */
  unexpected: 1,
  /** Bad command line or configuration (`ConfigError`). */
  usage: 2,
  /** The login answered 401: wrong email or password. */
  invalidCredentials: 3,
  /** The login answered 404: the user is not an active member of any org. */
  noActiveOrg: 4,
  /** The login failed otherwise, or credentials would have left the base URL. */
  loginFailed: 5,
  /** `request`: the upstream answered a status outside 2xx. */
  upstreamStatus: 6,
  /** The password prompt was interrupted (Ctrl+C), like a shell's 128 + SIGINT. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The exit code an error ends the command with. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return error.exitCode;
  if (!isTokenFetchError(error)) return exitCodes.unexpected;
  switch (error.code) {
    case 'E_CONFIG':
      return exitCodes.usage;
    case 'E_INVALID_CREDENTIALS':
    case 'E_INVALID_GRANT':
      return exitCodes.invalidCredentials;
    case 'E_NO_ACTIVE_ORG':
      return exitCodes.noActiveOrg;
    case 'E_LOGIN_FAILED':
    case 'E_LOGIN_NOT_FOUND':
    case 'E_CROSS_ORIGIN':
      return exitCodes.loginFailed;
    case 'E_UPSTREAM_STATUS':
      return exitCodes.upstreamStatus;
    default:
      return exitCodes.unexpected;
  }
}

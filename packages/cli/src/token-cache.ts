import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { defaults, type TokenFetchEvent, type TokenStore } from '@tokenfetch/core';
import type { SessionIdentity } from './config.js';
import { createFileTokenStore } from './file-token-store.js';
import { createPasswordSeal } from './password-seal.js';
import { UsageError } from './usage-error.js';

/**
 * The refresh-ahead window of core's client (its `refreshAheadMs` default, capped at a third
 * of the token's life): `tokenfetch token` prints a cached token only until it starts.
 */
export function refreshWindowMs(lifetimeMs: number): number {
  return Math.min(defaults.refreshAheadMs, lifetimeMs / 3);
}

/**
 * An `onEvent` listener that turns the first `store_error` into a warning: the command goes
 * on (core logs in without the cache), and one line says why the cache did not help.
 */
export function storeErrorWarning(
  warn: (message: string) => void,
): (event: TokenFetchEvent) => void {
  let warned = false;
  return (event) => {
    if (event.type !== 'store_error' || warned) return;
    warned = true;
    warn(`the token cache failed (${event.operation}: ${event.message}); going on without it`);
  };
}

const offValues = new Set(['off', '0', 'false', 'no']);
const onValues = new Set(['', 'on', '1', 'true', 'yes']);

/** Whether the token cache is on: not with `--no-cache` or `TOKENFETCH_CACHE=off`. */
export function tokenCacheEnabled(
  env: Readonly<Record<string, string | undefined>>,
  noCache: boolean | undefined,
): boolean {
  const setting = (env.TOKENFETCH_CACHE ?? '').trim().toLowerCase();
  if (!offValues.has(setting) && !onValues.has(setting)) {
    throw new UsageError('TOKENFETCH_CACHE must be on or off');
  }
  return noCache !== true && !offValues.has(setting);
}

/**
 * The directory of the per-user token cache: `$XDG_CACHE_HOME/tokenfetch`, else
 * `~/.cache/tokenfetch`. A relative `XDG_CACHE_HOME` is ignored, as the XDG spec says.
 */
export function tokenCacheDirectory(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CACHE_HOME;
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.cache');
  return join(base, 'tokenfetch');
}

/**
 * The cache file of one configuration: a hash of base URL, email and org, so that no email
 * shows in a file name.
 */
export function tokenCacheFile(directory: string, identity: SessionIdentity): string {
  const url = new URL(identity.baseUrl.trim());
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const hash = createHash('sha256')
    .update(JSON.stringify([url.href, identity.email, identity.orgId]))
    .digest('hex');
  return join(directory, `${hash.slice(0, 40)}.json`);
}

/** Options of `openTokenCache`. */
export interface TokenCacheOptions {
  /** The environment, after any `--env-file`. */
  env: Readonly<Record<string, string | undefined>>;
  /** `--no-cache`. */
  noCache: boolean | undefined;
  /** The command's session; undefined with `API_KEY`, which is never cached. */
  session: (SessionIdentity & { password: string }) | undefined;
  /** Receives one line, without secrets, about what is not used and why. */
  warn: (message: string) => void;
  /** See `FileTokenStoreOptions.minRemainingMs`. */
  minRemainingMs?: ((lifetimeMs: number) => number) | undefined;
  /**
   * The command's login timeout: it waits no longer than that, in all, for other commands'
   * logins (a live one ends within it), then takes the lock over.
   */
  loginTimeoutMs?: number | undefined;
}

/**
 * The token store of a command: the cache file of its configuration, in the cache
 * directory (created 0700 if need be). `undefined`, so that the client keeps its token in
 * memory, when the cache is off, with `API_KEY` (nothing to cache), and when the directory
 * is not this user's own (with one warning).
 */
export async function openTokenCache(options: TokenCacheOptions): Promise<TokenStore | undefined> {
  const { env, session, warn } = options;
  if (!tokenCacheEnabled(env, options.noCache) || session === undefined) return undefined;
  const directory = tokenCacheDirectory(env);
  if (!(await usableDirectory(directory, warn))) return undefined;
  return createFileTokenStore({
    file: tokenCacheFile(directory, session),
    seal: createPasswordSeal(session.password),
    warn,
    minRemainingMs: options.minRemainingMs,
    lockWaitMs: options.loginTimeoutMs,
  });
}

/** Creates the cache directory, or checks it: a real directory, this user's, mode 0700. */
async function usableDirectory(
  directory: string,
  warn: (message: string) => void,
): Promise<boolean> {
  const unusable = (why: string) => {
    warn(`not using the token cache: ${directory} ${why}`);
    return false;
  };
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const info = await lstat(directory);
    if (!info.isDirectory()) return unusable('is not a directory');
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      return unusable(`is owned by uid ${info.uid}, not by this user (uid ${uid})`);
    }
    // The user's own directory: made private again if it was opened up.
    if ((info.mode & 0o777) !== 0o700) await chmod(directory, 0o700);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return unusable(`cannot be used (${typeof code === 'string' ? code : 'error'})`);
  }
}

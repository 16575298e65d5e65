import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { defaults, type SharedFailure, type StoredToken, type TokenStore } from '@tokenfetch/core';
import { createLoginLock } from './login-lock.js';
import { isObject, parseJson, readOwnFile } from './own-file.js';
import { isSalt, type PasswordSeal, type SaltedKey, type Sealed } from './password-seal.js';

/** Options of `createFileTokenStore`. */
export interface FileTokenStoreOptions {
  /** The cache file of one configuration (base URL, email, org); its lock is `<file>.lock`. */
  file: string;
  /** The command's password: what another password sealed is a miss. */
  seal: PasswordSeal;
  /** Told, in one line without any secret, about a cache or lock file that is ignored. */
  warn: (message: string) => void;
  /**
   * How long a stored token must still have to live to be handed out, given its lifetime;
   * one with less is a miss (the command logs in).
   * @default nothing: core's own margin decides
   */
  minRemainingMs?: ((lifetimeMs: number) => number) | undefined;
  /**
   * The longest a login lock is honoured, from when it was written: a lock that says it
   * lasts longer, or was written more than a second in the future, is not honoured at all. The lock of a process
   * known to be gone is taken over at once. Longer than a login.
   * @default 30_000 (core's `defaults.lockTtlMs`)
   */
  lockTtlMs?: number | undefined;
  /**
   * The longest this store waits, in all, for other holders of the login lock: once it has
   * found the lock held for this long, it takes the lock over.
   * @default 10_000 (core's `defaults.loginTimeoutMs`)
   */
  lockWaitMs?: number | undefined;
  /** The clock. @default Date.now */
  now?: (() => number) | undefined;
  /** The user whose files are trusted. @default process.getuid() (none on Windows) */
  uid?: number | undefined;
}

/**
 * The file, as JSON: the entries of the store keys (one per password) of one configuration,
 * least recently written first. Each password keys its own entry with the file's salt.
 */
interface CacheFile {
  version: 2;
  /** The scrypt salt of every password's key in this file (base64). */
  salt: string;
  entries: CacheEntry[];
}

/**
 * What one store key holds. Its id is the store key's name under the password's key (core's
 * store key is not kept: it would let a guessed password be tested at PBKDF2's pace rather
 * than scrypt's). Generations are in clear; the rest is sealed under the password's key.
 */
interface CacheEntry {
  id: string;
  token?: Sealed & { generation: number };
  failure?: Sealed;
}

/** Where a store key stands in the file, for this command's password. */
interface Place {
  salt: string;
  sealing: SaltedKey;
  /** The id of the key's entry. */
  id: string;
  /** All the entries of the file. */
  entries: CacheEntry[];
  entry: CacheEntry | undefined;
}

/** How many store keys a file keeps: the least recently written goes first. */
export const maxCacheEntries = 8;
const maxFileBytes = 256 * 1024;
const safeToken = /^[\x21-\x7E]+$/;
const refusalCodes = new Set<SharedFailure['code']>([
  'E_INVALID_CREDENTIALS',
  'E_NO_ACTIVE_ORG',
  'E_INVALID_GRANT',
]);

/**
 * A `TokenStore` in one file per configuration, shared by every `tokenfetch` command of the
 * user: a token one command obtained is the next one's, and concurrent commands agree on who
 * logs in through a lock file. Core's token manager decides what is fresh, when to log in
 * and what to invalidate; this only keeps the data.
 *
 * Core's store key is bound to the password, so the commands of one configuration with
 * different passwords have different keys: the file keeps an entry per key (at most
 * `maxCacheEntries`), and what one key writes never touches another key's entry. An entry
 * is found by a name that only its password gives (an HMAC under the password's scrypt
 * key), and its token and refusal are sealed under that key.
 *
 * Every write is made by the holder of the login lock, to a temporary file (mode 0600) renamed over the
 * cache file, so a reader sees the old file or the new one, never half of either, and no
 * write is lost to another. A file that is not a regular file owned by this user, that others
 * may read, or that does not parse is ignored (a miss) with one warning; the next login
 * replaces it. A file of the previous version is a miss, without a warning.
 */
export function createFileTokenStore(options: FileTokenStoreOptions): TokenStore {
  const { file, seal } = options;
  const now = options.now ?? Date.now;
  const uid = options.uid ?? process.getuid?.();
  const lockWaitMs = options.lockWaitMs ?? defaults.loginTimeoutMs;
  const warned = new Set<string>();
  const warn = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    options.warn(message);
  };
  const lock = createLoginLock({
    file: `${file}.lock`,
    ttlMs: options.lockTtlMs ?? defaults.lockTtlMs,
    now,
    uid,
    warn,
  });
  let lastGeneration = 0;
  // The time spent waiting for other holders of the lock: stretches that ended, and the
  // start of the current one.
  let waitedMs = 0;
  let waitingSince: number | undefined;
  // One operation at a time in this process: core fires `invalidate` without waiting, and
  // it must not interleave its read and write with a `commit`.
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = queue.then(operation, operation);
    queue = run.catch(() => {});
    return run;
  }

  function endWait(): void {
    if (waitingSince === undefined) return;
    waitedMs += now() - waitingSince;
    waitingSince = undefined;
  }

  function ignore(reason: string): undefined {
    warn(`ignored the token cache file ${file}: ${reason}`);
    return undefined;
  }

  /** The file, or `undefined` when there is none or it may not be trusted. */
  async function readCache(): Promise<CacheFile | undefined> {
    const found = await readOwnFile(file, uid, maxFileBytes);
    if (found === undefined) return undefined;
    if ('refused' in found) return ignore(found.refused);
    const parsed = parseJson(found.text);
    if (parsed === undefined) return ignore('not a tokenfetch cache file (not JSON)');
    if (isCacheFile(parsed)) return parsed;
    // Written by the version before: a miss, without a warning; the next write replaces it.
    if (isVersion1Record(parsed)) return undefined;
    return ignore('not a tokenfetch cache file (unknown shape)');
  }

  /**
   * Where `key` stands in the file. Without a file, `undefined`, unless `writing`: then a
   * place in a new file, of a new salt.
   */
  async function place(key: string, writing: true): Promise<Place>;
  async function place(key: string, writing: false): Promise<Place | undefined>;
  async function place(key: string, writing: boolean): Promise<Place | undefined> {
    const cache = await readCache();
    if (cache === undefined && !writing) return undefined;
    const salt = cache?.salt ?? seal.newSalt;
    const sealing = await seal.withSalt(salt);
    // Checked as the file was read, and the new salt is one.
    if (sealing === undefined) throw new Error('the token cache salt is not one');
    const id = sealing.name(key);
    const entries = cache?.entries ?? [];
    return { salt, sealing, id, entries, entry: entries.find((found) => found.id === id) };
  }

  /** Writes `entries`, the most recently written last; the file goes when there are none. */
  async function writeCache(salt: string, entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) {
      await rm(file, { force: true });
      return;
    }
    let kept = entries.slice(-maxCacheEntries);
    let text = `${JSON.stringify({ version: 2, salt, entries: kept } satisfies CacheFile)}\n`;
    while (Buffer.byteLength(text) > maxFileBytes && kept.length > 1) {
      kept = kept.slice(1);
      text = `${JSON.stringify({ version: 2, salt, entries: kept } satisfies CacheFile)}\n`;
    }
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** `entries` with `entry` in place of its key's, as the most recently written. */
  function put(entries: CacheEntry[], entry: CacheEntry): CacheEntry[] {
    return [...entries.filter((other) => other.id !== entry.id), entry];
  }

  return {
    get: (key) =>
      serial(async () => {
        const found = await place(key, false);
        const sealed = found?.entry?.token;
        if (found === undefined || sealed === undefined) return undefined;
        const { generation } = sealed;
        const text = found.sealing.open(sealed, context('token', key, generation));
        const token = text === undefined ? undefined : parseToken(text);
        if (token === undefined) return undefined;
        const lifetime = token.expiresAt - token.issuedAt;
        if (token.expiresAt - now() < (options.minRemainingMs?.(lifetime) ?? 0)) return undefined;
        endWait();
        return { ...token, generation };
      }),

    acquire: (key) =>
      serial(async () => {
        const stored = (await place(key, false))?.entry?.token?.generation ?? 0;
        // Increasing across commands (the clock) and within one (the counter).
        const generation = Math.max(now(), stored + 1, lastGeneration + 1);
        const waited = waitedMs + (waitingSince === undefined ? 0 : now() - waitingSince);
        const id = await lock.take(waitingSince !== undefined && waited >= lockWaitMs);
        if (id === undefined) {
          waitingSince ??= now();
          return undefined;
        }
        endWait();
        lastGeneration = generation;
        return { key, generation, id };
      }),

    commit: (lease, token) =>
      serial(async () => {
        try {
          const found = await place(lease.key, true);
          const current = found.entry?.token?.generation;
          if (current !== undefined && current >= lease.generation) return false;
          const { generation } = lease;
          const text = JSON.stringify({
            token: token.token,
            issuedAt: token.issuedAt,
            expiresAt: token.expiresAt,
          });
          const sealed = found.sealing.seal(text, context('token', lease.key, generation));
          // A login that worked ends any shared refusal.
          const entry = { id: found.id, token: { ...sealed, generation } };
          await writeCache(found.salt, put(found.entries, entry));
          return true;
        } finally {
          await lock.release(lease.id);
        }
      }),

    release: (lease, failure) =>
      serial(async () => {
        try {
          if (failure === undefined) return;
          const found = await place(lease.key, true);
          const kept = found.entry?.token;
          const text = JSON.stringify({ code: failure.code, until: failure.until });
          const sealed = found.sealing.seal(text, context('failure', lease.key, 0));
          await writeCache(
            found.salt,
            put(found.entries, {
              id: found.id,
              ...(kept === undefined ? {} : { token: kept }),
              failure: sealed,
            }),
          );
        } finally {
          await lock.release(lease.id);
        }
      }),

    invalidate: (key, generation) =>
      serial(async () => {
        // Written under the lock, as every write, so that it loses no other's write. While
        // another command holds it, the dead token stays: whoever tries it next meets the
        // same 401 and drops it then.
        const id = await lock.take(false);
        if (id === undefined) return;
        try {
          const found = await place(key, false);
          const entry = found?.entry;
          if (found === undefined || entry?.token?.generation !== generation) return;
          const others = found.entries.filter((other) => other !== entry);
          const { failure } = entry;
          await writeCache(
            found.salt,
            failure === undefined ? others : put(others, { id: entry.id, failure }),
          );
        } finally {
          await lock.release(id);
        }
      }),

    getFailure: (key) =>
      serial(async () => {
        const found = await place(key, false);
        const sealed = found?.entry?.failure;
        if (found === undefined || sealed === undefined) return undefined;
        const text = found.sealing.open(sealed, context('failure', key, 0));
        const failure = text === undefined ? undefined : parseFailure(text);
        return failure !== undefined && failure.until > now() ? failure : undefined;
      }),
  };
}

/** What a sealed section is bound to: moved to another section, key or generation, it does not open. */
function context(section: 'token' | 'failure', key: string, generation: number): string {
  return `tokenfetch-cache-v2|${section}|${key}|${generation}`;
}

function isSealed(value: unknown): value is Sealed {
  return isObject(value) && typeof value.iv === 'string' && typeof value.data === 'string';
}

/** A key's token and failure, each optional. */
function hasSealedParts(value: Record<string, unknown>): boolean {
  const { token, failure } = value;
  if (token !== undefined) {
    if (!isSealed(token) || !Number.isSafeInteger((token as { generation?: unknown }).generation)) {
      return false;
    }
  }
  return failure === undefined || isSealed(failure);
}

function isCacheFile(value: unknown): value is CacheFile {
  if (!isObject(value) || value.version !== 2 || !isSalt(value.salt)) return false;
  if (!Array.isArray(value.entries)) return false;
  const ids = new Set<unknown>();
  for (const entry of value.entries as unknown[]) {
    if (!isObject(entry) || typeof entry.id !== 'string' || ids.has(entry.id)) return false;
    if (!hasSealedParts(entry)) return false;
    ids.add(entry.id);
  }
  return true;
}

/** The one record of the version before (`{ version: 1, key, token?, failure? }`). */
function isVersion1Record(value: unknown): boolean {
  return (
    isObject(value) && value.version === 1 && typeof value.key === 'string' && hasSealedParts(value)
  );
}

function parseToken(text: string): Omit<StoredToken, 'generation'> | undefined {
  const value = parseJson(text);
  if (
    !isObject(value) ||
    typeof value.token !== 'string' ||
    !safeToken.test(value.token) ||
    !Number.isFinite(value.issuedAt) ||
    !Number.isFinite(value.expiresAt)
  ) {
    return undefined;
  }
  return {
    token: value.token,
    issuedAt: value.issuedAt as number,
    expiresAt: value.expiresAt as number,
  };
}

function parseFailure(text: string): SharedFailure | undefined {
  const value = parseJson(text);
  if (!isObject(value) || !Number.isFinite(value.until)) return undefined;
  const code = value.code as SharedFailure['code'];
  return refusalCodes.has(code) ? { code, until: value.until as number } : undefined;
}

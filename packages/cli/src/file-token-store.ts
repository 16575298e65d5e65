import { randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { SharedFailure, StoredToken, TokenLease, TokenStore } from '@tokenfetch/core';
import type { PasswordSeal, Sealed } from './password-seal.js';

/** Options of `createFileTokenStore`. */
export interface FileTokenStoreOptions {
  /** The cache file of one configuration (base URL, email, org); its lock is `<file>.lock`. */
  file: string;
  /** The command's password: what another password sealed is a miss. */
  seal: PasswordSeal;
  /** Told, in one line without any secret, about a cache file that is ignored. */
  warn: (message: string) => void;
  /**
   * How long a stored token must still have to live to be handed out, given its lifetime;
   * one with less is a miss (the command logs in).
   * @default nothing: core's own margin decides
   */
  minRemainingMs?: ((lifetimeMs: number) => number) | undefined;
  /**
   * A login lock whose holder died is taken over after this long (at once when its process
   * is known to be gone). Longer than a login.
   * @default 30_000
   */
  lockTtlMs?: number | undefined;
  /** The clock. @default Date.now */
  now?: (() => number) | undefined;
  /** The user whose files are trusted. @default process.getuid() (none on Windows) */
  uid?: number | undefined;
}

/** The file, as JSON. Generations are in clear; the rest is sealed under the password. */
interface CacheRecord {
  version: 1;
  /** Core's store key, as a check: a record of another key is a miss. */
  key: string;
  token?: Sealed & { generation: number };
  failure?: Sealed;
}

interface LockRecord {
  id: string;
  pid: number;
  host: string;
  until: number;
}

const maxFileBytes = 64 * 1024;
const safeToken = /^[\x21-\x7E]+$/;
const refusalCodes = new Set<SharedFailure['code']>(['E_INVALID_CREDENTIALS', 'E_NO_ACTIVE_ORG']);

/**
 * A `TokenStore` in one file per configuration, shared by every `tokenfetch` command of the
 * user: a token one command obtained is the next one's, and concurrent commands agree on who
 * logs in through a lock file. Core's token manager decides what is fresh, when to log in
 * and what to invalidate; this only keeps the data.
 *
 * Writes go to a temporary file (mode 0600) renamed over the cache file, so a reader sees
 * the old file or the new one, never half of either. A file that is not a regular file
 * owned by this user, that others may read, or that does not parse is ignored (a miss) with
 * one warning; the next login replaces it.
 */
export function createFileTokenStore(options: FileTokenStoreOptions): TokenStore {
  const { file, seal, warn } = options;
  const lockFile = `${file}.lock`;
  const now = options.now ?? Date.now;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const uid = options.uid ?? process.getuid?.();
  const warned = new Set<string>();
  let lastGeneration = 0;
  // One operation at a time in this process: core fires `invalidate` without waiting, and
  // it must not interleave its read and write with a `commit`.
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = queue.then(operation, operation);
    queue = run.catch(() => {});
    return run;
  }

  function ignore(reason: string): undefined {
    if (!warned.has(reason)) {
      warned.add(reason);
      warn(`ignored the token cache file ${file}: ${reason}`);
    }
    return undefined;
  }

  /** The record, or `undefined` when there is none or it may not be trusted. */
  async function readRecord(): Promise<CacheRecord | undefined> {
    let text: string;
    try {
      // O_NOFOLLOW: a symbolic link is not followed to wherever it points.
      const handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
      try {
        const info = await handle.stat();
        if (!info.isFile()) return ignore('not a regular file');
        if (uid !== undefined && info.uid !== uid) {
          return ignore(`owned by uid ${info.uid}, not by this user (uid ${uid})`);
        }
        // Mode bits mean nothing on Windows (no uid there either).
        if (uid !== undefined && (info.mode & 0o077) !== 0) {
          return ignore(`others may read or write it (mode ${(info.mode & 0o777).toString(8)})`);
        }
        if (info.size > maxFileBytes) return ignore('too large to be a tokenfetch cache file');
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') return ignore('a symbolic link');
      return ignore(`unreadable (${typeof code === 'string' ? code : 'error'})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Never the parser's message: it quotes the file's content.
      return ignore('not a tokenfetch cache file (not JSON)');
    }
    return isCacheRecord(parsed) ? parsed : ignore('not a tokenfetch cache file (unknown shape)');
  }

  async function writeRecord(record: CacheRecord): Promise<void> {
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async function readLock(): Promise<LockRecord | 'unreadable' | undefined> {
    try {
      const parsed: unknown = JSON.parse(await readFile(lockFile, 'utf8'));
      return isLockRecord(parsed) ? parsed : 'unreadable';
    } catch (error) {
      return (error as { code?: unknown }).code === 'ENOENT' ? undefined : 'unreadable';
    }
  }

  async function lockIsStale(): Promise<boolean> {
    const lock = await readLock();
    if (lock === undefined) return true;
    if (lock === 'unreadable') {
      const modified = await stat(lockFile).then(
        (info) => info.mtimeMs,
        () => 0,
      );
      return modified + lockTtlMs <= now();
    }
    return lock.until <= now() || (lock.host === hostname() && !isAlive(lock.pid));
  }

  async function unlock(lease: TokenLease): Promise<void> {
    const lock = await readLock();
    if (typeof lock === 'object' && lock.id === lease.id) await rm(lockFile, { force: true });
  }

  return {
    get: (key) =>
      serial(async () => {
        const record = await readRecord();
        if (record?.key !== key || record.token === undefined) return undefined;
        const { generation } = record.token;
        const text = await seal.open(record.token, context('token', key, generation));
        const token = text === undefined ? undefined : parseToken(text);
        if (token === undefined) return undefined;
        const lifetime = token.expiresAt - token.issuedAt;
        if (token.expiresAt - now() < (options.minRemainingMs?.(lifetime) ?? 0)) return undefined;
        return { ...token, generation };
      }),

    acquire: (key) =>
      serial(async () => {
        const record = await readRecord();
        const stored = record?.key === key ? (record.token?.generation ?? 0) : 0;
        // Increasing across commands (the clock) and within one (the counter).
        const generation = Math.max(now(), stored + 1, lastGeneration + 1);
        const lock: LockRecord = {
          id: randomUUID(),
          pid: process.pid,
          host: hostname(),
          until: now() + lockTtlMs,
        };
        // Written whole under another name, then linked in place: link() fails if the lock
        // exists, so taking it is atomic and nobody ever reads a half-written lock.
        const temporary = `${lockFile}.${lock.id}.tmp`;
        await writeFile(temporary, JSON.stringify(lock), { mode: 0o600, flag: 'wx' });
        try {
          for (let attempt = 0; attempt < 2; attempt++) {
            try {
              await link(temporary, lockFile);
              lastGeneration = generation;
              return { key, generation, id: lock.id };
            } catch (error) {
              if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
            }
            // Two commands that both find a dead holder's lock may both take it over: then
            // both log in, and the generation check keeps the newer token.
            if (!(await lockIsStale())) return undefined;
            await rm(lockFile, { force: true });
          }
          return undefined;
        } finally {
          await rm(temporary, { force: true });
        }
      }),

    commit: (lease, token) =>
      serial(async () => {
        try {
          const record = await readRecord();
          const current = record?.key === lease.key ? record.token?.generation : undefined;
          if (current !== undefined && current >= lease.generation) return false;
          const { generation } = lease;
          const text = JSON.stringify({
            token: token.token,
            issuedAt: token.issuedAt,
            expiresAt: token.expiresAt,
          });
          const sealed = await seal.seal(text, context('token', lease.key, generation));
          // A login that worked ends any shared refusal.
          await writeRecord({ version: 1, key: lease.key, token: { ...sealed, generation } });
          return true;
        } finally {
          await unlock(lease);
        }
      }),

    release: (lease, failure) =>
      serial(async () => {
        try {
          if (failure === undefined) return;
          const record = await readRecord();
          const kept = record?.key === lease.key ? record.token : undefined;
          const text = JSON.stringify({ code: failure.code, until: failure.until });
          const sealed = await seal.seal(text, context('failure', lease.key, 0));
          await writeRecord({
            version: 1,
            key: lease.key,
            ...(kept === undefined ? {} : { token: kept }),
            failure: sealed,
          });
        } finally {
          await unlock(lease);
        }
      }),

    invalidate: (key, generation) =>
      serial(async () => {
        const record = await readRecord();
        if (record?.key !== key || record.token?.generation !== generation) return;
        if (record.failure === undefined) {
          await rm(file, { force: true });
        } else {
          await writeRecord({ version: 1, key, failure: record.failure });
        }
      }),

    getFailure: (key) =>
      serial(async () => {
        const record = await readRecord();
        if (record?.key !== key || record.failure === undefined) return undefined;
        const text = await seal.open(record.failure, context('failure', key, 0));
        const failure = text === undefined ? undefined : parseFailure(text);
        return failure !== undefined && failure.until > now() ? failure : undefined;
      }),
  };
}

/** What a sealed section is bound to: moved to another section, key or generation, it does not open. */
function context(section: 'token' | 'failure', key: string, generation: number): string {
  return `tokenfetch-cache-v1|${section}|${key}|${generation}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSealed(value: unknown): value is Sealed {
  return (
    isObject(value) &&
    typeof value.salt === 'string' &&
    typeof value.iv === 'string' &&
    typeof value.data === 'string'
  );
}

function isCacheRecord(value: unknown): value is CacheRecord {
  if (!isObject(value) || value.version !== 1 || typeof value.key !== 'string') return false;
  const { token, failure } = value;
  if (token !== undefined) {
    if (!isSealed(token) || !Number.isSafeInteger((token as { generation?: unknown }).generation)) {
      return false;
    }
  }
  return failure === undefined || isSealed(failure);
}

function isLockRecord(value: unknown): value is LockRecord {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    Number.isSafeInteger(value.pid) &&
    typeof value.host === 'string' &&
    typeof value.until === 'number'
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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

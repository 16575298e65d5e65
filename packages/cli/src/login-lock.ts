import { randomUUID } from 'node:crypto';
import { link, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isObject, parseJson, readOwnFile } from './own-file.js';

/** Options of `createLoginLock`. */
export interface LoginLockOptions {
  /** The lock file. */
  file: string;
  /** The longest any lock is honoured, from when it was written. */
  ttlMs: number;
  now: () => number;
  /** The user whose lock files are trusted; `undefined`: any (Windows). */
  uid: number | undefined;
  /** Told, in one line without any secret, about a lock file that is not trusted. */
  warn: (message: string) => void;
}

/** The lock file of one cache file: who logs in for it at the moment. */
export interface LoginLock {
  /**
   * Takes the lock and answers its id, or `undefined` while another holder's lock is
   * honoured. With `takeOver`, even an honoured lock is taken.
   */
  take(takeOver: boolean): Promise<string | undefined>;
  /** Removes the lock, if it is still the one `id` took. */
  release(id: string): Promise<void>;
}

/** The lock file, as JSON. `written` and `until` are epoch ms of the writer's clock. */
interface LockRecord {
  id: string;
  pid: number;
  host: string;
  /** Absent from the locks of the version before, which were written `ttlMs` before `until`. */
  written?: number;
  until: number;
}

const maxLockBytes = 4 * 1024;
/**
 * How far in the future a lock's write time may be and still be believed: the clocks of two
 * hosts sharing a home differ by a few milliseconds, and a lock is read as soon as written.
 */
const clockSkewMs = 1_000;

/**
 * The login lock beside a cache file. Nothing found in its place is taken on trust: a lock
 * that is not a regular file of this user's, private to them (a symbolic link, a FIFO, a file
 * planted by another user), is not honoured and is taken over, with one warning. Nor is a
 * lock that claims to last longer than `ttlMs` from its own write time, or whose write time
 * is in the future (a host with a skewed clock, a planted far `until`): however it was made,
 * no lock holds a command for longer than `ttlMs` (and a second of clock skew).
 */
export function createLoginLock(options: LoginLockOptions): LoginLock {
  const { file, ttlMs, now, uid, warn } = options;

  /** The lock; `unreadable` (its write time) when it is this user's but does not parse. */
  async function read(): Promise<
    { lock: LockRecord } | { unreadable: number } | { refused: string } | undefined
  > {
    const found = await readOwnFile(file, uid, maxLockBytes);
    if (found === undefined || 'refused' in found) return found;
    const parsed = parseJson(found.text);
    return isLockRecord(parsed) ? { lock: parsed } : { unreadable: found.modifiedAt };
  }

  /** Whether another holder's lock is honoured now. */
  async function held(): Promise<boolean> {
    const found = await read();
    if (found === undefined) return false;
    if ('refused' in found) {
      warn(`ignored the login lock ${file}: ${found.refused}`);
      return false;
    }
    const time = now();
    // A lock that does not parse was not written by tokenfetch, which links its locks in
    // whole: the file's own write time is all there is to go by.
    if ('unreadable' in found) {
      return found.unreadable <= time + clockSkewMs && time < found.unreadable + ttlMs;
    }
    const { until, host, pid } = found.lock;
    const written = found.lock.written ?? until - ttlMs;
    if (written > time + clockSkewMs || until - written > ttlMs || until <= time) return false;
    return host !== hostname() || isAlive(pid);
  }

  return {
    async take(takeOver) {
      const time = now();
      const lock: LockRecord = {
        id: randomUUID(),
        pid: process.pid,
        host: hostname(),
        written: time,
        until: time + ttlMs,
      };
      // Written whole under another name, then linked in place: link() fails if the lock
      // exists, so taking it is atomic and nobody ever reads a half-written lock.
      const temporary = `${file}.${lock.id}.tmp`;
      await writeFile(temporary, JSON.stringify(lock), { mode: 0o600, flag: 'wx' });
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            await link(temporary, file);
            return lock.id;
          } catch (error) {
            if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
          }
          // Two commands that both find a dead holder's lock may both take it over: then
          // both log in, and the generation check keeps the newer token.
          if (!takeOver && (await held())) return undefined;
          // Removes a symbolic link itself, never what it points to.
          await rm(file, { force: true });
        }
        return undefined;
      } finally {
        await rm(temporary, { force: true });
      }
    },

    async release(id) {
      const found = await read();
      if (found !== undefined && 'lock' in found && found.lock.id === id) {
        await rm(file, { force: true });
      }
    },
  };
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

function isLockRecord(value: unknown): value is LockRecord {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    // Not 0 nor negative: kill(0) and kill(-1) would ask about whole process groups.
    Number.isSafeInteger(value.pid) &&
    (value.pid as number) > 0 &&
    typeof value.host === 'string' &&
    (value.written === undefined || Number.isFinite(value.written)) &&
    Number.isFinite(value.until)
  );
}

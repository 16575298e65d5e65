import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { createFileTokenStore } from '../src/file-token-store.js';
import { createPasswordSeal } from '../src/password-seal.js';
import { tokenCacheFile } from '../src/token-cache.js';
import { assertBuilt, oneErrorLine, runCli, sessionEnv } from './helpers.js';

// The lock file beside a cache file is found, not made, by most commands: nothing in it is
// taken on trust (issue 20, item 6).

let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'tokenfetch-lock-test-'));
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const key = 'c'.repeat(64);
const seal = createPasswordSeal('the password');
const file = () => join(cache, 'entry.json');
const lockFile = () => `${file()}.lock`;

function store(
  options: { uid?: number; now?: () => number; lockWaitMs?: number; warnings?: string[] } = {},
) {
  const { warnings, ...rest } = options;
  return createFileTokenStore({
    file: file(),
    seal,
    warn: (message) => {
      if (warnings === undefined) throw new Error(message);
      warnings.push(message);
    },
    ...rest,
  });
}

/** A lock as a live command of this host writes it (this process is its holder). */
async function plantLock(fields: { written?: number; until: number }): Promise<void> {
  const lock = { id: 'planted', pid: process.pid, host: hostname(), ...fields };
  await writeFile(lockFile(), JSON.stringify(lock), { mode: 0o600 });
}

describe('the login lock', () => {
  it("is honoured when a live command of this user's holds it", async () => {
    const now = Date.now();
    await plantLock({ written: now, until: now + 30_000 });
    expect(await store().acquire(key)).toBeUndefined();
    // Until it ends, and not after.
    expect(await store({ now: () => now + 29_999 }).acquire(key)).toBeUndefined();
    expect(await store({ now: () => now + 30_000 }).acquire(key)).toBeDefined();
  });

  it('is not honoured when another user owns it, or others may write it: one warning, taken over', async () => {
    const holder = store();
    expect(await holder.acquire(key)).toBeDefined();
    const uid = process.getuid?.() ?? 0;
    // The same lock, judged by a user it does not belong to.
    const warnings: string[] = [];
    expect(await store({ uid: uid + 1, warnings }).acquire(key)).toBeDefined();
    expect(warnings).toEqual([
      `ignored the login lock ${lockFile()}: owned by uid ${uid}, not by this user (uid ${uid + 1})`,
    ]);

    await rm(lockFile());
    expect(await holder.acquire(key)).toBeDefined();
    await chmod(lockFile(), 0o622);
    warnings.length = 0;
    expect(await store({ warnings }).acquire(key)).toBeDefined();
    expect(warnings).toEqual([
      `ignored the login lock ${lockFile()}: others may read or write it (mode 622)`,
    ]);
  });

  it(`is not honoured when it claims to last longer than lockTtlMs from its write time`, async () => {
    const now = Date.now();
    await plantLock({ written: now, until: now + 365 * 86_400_000 });
    expect(await store().acquire(key)).toBeDefined();
    // Nor without a write time (the version before's locks): written lockTtlMs before until.
    await rm(lockFile());
    await plantLock({ until: now + 365 * 86_400_000 });
    expect(await store().acquire(key)).toBeDefined();
  });

  it('is not honoured when it was written in the future (a clock ahead of this one)', async () => {
    const ahead = store({ now: () => Date.now() + 3_600_000 });
    expect(await ahead.acquire(key)).toBeDefined();
    expect(await store().acquire(key)).toBeDefined();
    // A few hundred milliseconds ahead is two hosts' clocks, not a lie.
    await rm(lockFile());
    const now = Date.now();
    await plantLock({ written: now + 500, until: now + 30_500 });
    expect(await store({ now: () => now }).acquire(key)).toBeUndefined();
  });

  it('holds a command back at most lockWaitMs in all, then is taken over', async () => {
    // One clock for both: the holder's locks stay in their time throughout.
    let now = Date.now();
    const start = now;
    const waiter = store({ now: () => now, lockWaitMs: 10_000 });
    const holder = store({ now: () => now });
    const first = await holder.acquire(key);
    if (first === undefined) throw new Error('no lease');
    expect(await waiter.acquire(key)).toBeUndefined();
    now += 6_000;
    expect(await waiter.acquire(key)).toBeUndefined();
    // The holder's token ends that wait; the waiter waited 6 s of its 10.
    await holder.commit(first, { token: 'first', issuedAt: start, expiresAt: start + 900_000 });
    expect(await waiter.get(key)).toMatchObject({ token: 'first' });
    const second = await holder.acquire(key);
    expect(second).toBeDefined();
    expect(await waiter.acquire(key)).toBeUndefined();
    now += 3_999;
    expect(await waiter.acquire(key)).toBeUndefined();
    now += 1;
    // The holder's lock is still in its time, but the waiter has waited 10 s in all.
    expect(await waiter.acquire(key)).toBeDefined();
  });
});

describe('tokenfetch with a planted lock', () => {
  let mock: MockUpstream;
  let env: Record<string, string>;
  beforeAll(async () => {
    assertBuilt();
    mock = await startMockUpstream();
  });
  afterAll(() => mock.close());
  beforeEach(async () => {
    env = { ...sessionEnv(mock), XDG_CACHE_HOME: cache };
    mock.resetStats();
    await mkdir(join(cache, 'tokenfetch'), { mode: 0o700 });
  });

  const cliFile = () =>
    tokenCacheFile(join(cache, 'tokenfetch'), {
      baseUrl: mock.baseUrl,
      email: DEMO_USER.email,
      orgId: '1',
    });
  const cliLock = () => `${cliFile()}.lock`;

  /** `tokenfetch token` once: its stderr, once it made one login and cached its token. */
  async function loggedInAndCached(): Promise<string> {
    const result = await runCli(['token'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(mock.stats.loginAttempts).toBe(1);
    // Committed under the lock: the token is the next command's.
    const cached = JSON.parse(await readFile(cliFile(), 'utf8')) as {
      entries: unknown[];
    };
    expect(cached.entries).toHaveLength(1);
    return result.stderr;
  }

  it('does not hang on a lock that is a symbolic link to a FIFO, nor on a FIFO', async () => {
    const fifo = join(cache, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await symlink(fifo, cliLock());
    expect(oneErrorLine(await loggedInAndCached())).toBe(
      `tokenfetch: warning: ignored the login lock ${cliLock()}: a symbolic link`,
    );

    // A FIFO itself, with nothing cached yet.
    await rm(cliFile());
    execFileSync('mkfifo', [cliLock()]);
    mock.resetStats();
    expect(oneErrorLine(await loggedInAndCached())).toBe(
      `tokenfetch: warning: ignored the login lock ${cliLock()}: not a regular file`,
    );
  });

  it('does not hang on a cache file that is a FIFO: one warning, then it is replaced', async () => {
    execFileSync('mkfifo', [cliFile()]);
    expect(oneErrorLine(await loggedInAndCached())).toBe(
      `tokenfetch: warning: ignored the token cache file ${cliFile()}: not a regular file`,
    );
  });

  it('takes over at once a lock with a far until: no command waits it out', async () => {
    const now = Date.now();
    const lock = { id: 'planted', pid: process.pid, host: hostname(), until: now + 86_400_000 };
    await writeFile(cliLock(), JSON.stringify({ ...lock, written: now }), { mode: 0o600 });
    expect(await loggedInAndCached()).toBe('');
  });

  it('waits for a live holder at most API_LOGIN_TIMEOUT_MS, then logs in under the lock', async () => {
    // A lock in its time, held by a live process (this one) that never logs in.
    const now = Date.now();
    const lock = {
      id: 'stuck',
      pid: process.pid,
      host: hostname(),
      written: now,
      until: now + 30_000,
    };
    await writeFile(cliLock(), JSON.stringify(lock), { mode: 0o600 });
    env.API_LOGIN_TIMEOUT_MS = '1000';
    // Not a login on its own after core's own wait (1 s + 2 s), with a warning and nothing
    // cached: the lock was taken over, and the token cached for the next command.
    expect(await loggedInAndCached()).toBe('');
  });
});

import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient, loadOptionsFromEnv } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { createFileTokenStore, maxCacheEntries } from '../src/file-token-store.js';
import { createPasswordSeal, type PasswordSeal } from '../src/password-seal.js';
import { tokenCacheFile } from '../src/token-cache.js';
import { apiKeyEnv, assertBuilt, oneErrorLine, runCli, sessionEnv } from './helpers.js';

// Every test has a cache of its own ($XDG_CACHE_HOME); the commands are the real bin,
// against the mock upstream, one process each, as in a shell script.

let mock: MockUpstream;
let cache: string;
let env: Record<string, string>;
beforeAll(async () => {
  assertBuilt();
  mock = await startMockUpstream();
});
afterAll(() => mock.close());
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'tokenfetch-cache-test-'));
  env = { ...sessionEnv(mock), XDG_CACHE_HOME: cache };
  mock.resetStats();
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const directory = () => join(cache, 'tokenfetch');
const cacheFile = (mockServer = mock) =>
  tokenCacheFile(directory(), {
    baseUrl: mockServer.baseUrl,
    email: DEMO_USER.email,
    orgId: '1',
  });

async function printedToken(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const result = await runCli(args, { env: { ...env, ...extra } });
  expect(result, JSON.stringify(result)).toMatchObject({ code: 0, stderr: '' });
  return result.stdout.trim();
}

describe('the token cache', () => {
  it('lets sequential commands share one login', async () => {
    const first = await printedToken(['token']);
    const me = await runCli(['request', 'GET', '/user/users/me'], { env });
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ email: DEMO_USER.email });
    const json = JSON.parse(await printedToken(['token', '--json'])) as { token: string };
    expect(json.token).toBe(first);
    expect(await printedToken(['token', '--header'])).toBe(`Authorization: Bearer ${first}`);
    expect(mock.stats.successfulLogins).toBe(1);
    expect(mock.requests.filter((r) => r.path === '/api/user/users/me').at(-1)?.headers).toEqual(
      expect.objectContaining({ authorization: `Bearer ${first}` }),
    );
  });

  it('replaces a revoked cached token with one login, and the command succeeds', async () => {
    await printedToken(['token']);
    mock.revokeTokens();
    const result = await runCli(['request', 'GET', '/user/users/me'], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(mock.stats.successfulLogins).toBe(2);
    // The new token went into the cache: the next command makes no login.
    expect((await runCli(['request', 'GET', '/user/users/me'], { env })).code).toBe(0);
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('never hides a wrong password: another password logs in, and exits 3 when wrong', async () => {
    const cached = await printedToken(['token']);
    const wrong = await runCli(['token'], { env: { ...env, API_PASSWORD: 'canary-Wrong-Pw-1' } });
    expect(wrong.code).toBe(3);
    expect(wrong.stdout).toBe('');
    expect(oneErrorLine(wrong.stderr)).toBe(
      'tokenfetch: login refused: invalid credentials (401): check the email and password',
    );
    expect(wrong.stderr).not.toContain(cached);
    const request = await runCli(['request', 'GET', '/user/users/me'], {
      env: { ...env, API_PASSWORD: 'canary-Wrong-Pw-2' },
    });
    expect(request.code).toBe(3);
    expect(mock.stats.loginAttempts).toBe(3);
    // The right password still finds its token.
    expect(await printedToken(['token'])).toBe(cached);
    expect(mock.stats.loginAttempts).toBe(3);
    // Side by side in the file: the right password's token, each wrong one's refusal.
    const file = JSON.parse(await readFile(cacheFile(), 'utf8')) as {
      version: number;
      entries: { id: string }[];
    };
    expect(file.version).toBe(2);
    expect(file.entries).toEqual([
      { id: expect.any(String), token: expect.any(Object) },
      { id: expect.any(String), failure: expect.any(Object) },
      { id: expect.any(String), failure: expect.any(Object) },
    ]);
    expect(new Set(file.entries.map((entry) => entry.id)).size).toBe(3);
    // And a wrong one still finds its refusal: no attempt.
    const again = await runCli(['token'], { env: { ...env, API_PASSWORD: 'canary-Wrong-Pw-1' } });
    expect(again.code).toBe(3);
    expect(mock.stats.loginAttempts).toBe(3);
  });

  it('remembers a refused password for the cooldown, for that password only', async () => {
    const wrong = { API_PASSWORD: 'canary-Wrong-Pw-3' };
    for (let run = 0; run < 3; run++) {
      expect((await runCli(['token'], { env: { ...env, ...wrong } })).code).toBe(3);
    }
    expect(mock.stats.loginAttempts).toBe(1);
    expect((await runCli(['token'], { env })).code).toBe(0);
    expect(mock.stats.loginAttempts).toBe(2);
  });

  it('keeps the directory 0700 and the file 0600, whatever the umask', async () => {
    await mkdir(directory(), { mode: 0o755 });
    await chmod(directory(), 0o755);
    const result = await runCli(['token'], { env, umask: '000' });
    expect(result.code).toBe(0);
    expect((await stat(directory())).mode & 0o777).toBe(0o700);
    expect((await stat(cacheFile())).mode & 0o777).toBe(0o600);
    expect(await readdir(directory())).toEqual([cacheFile().slice(directory().length + 1)]);
  });

  it('keeps no email, no clear token and no store key in the file or its name', async () => {
    const key = await storeKeyOfMock();
    const token = await printedToken(['token']);
    const [name = ''] = await readdir(directory());
    expect(name).toMatch(/^[0-9a-f]{40}\.json$/);
    const text = await readFile(join(directory(), name), 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(DEMO_USER.email);
    expect(text).not.toContain(DEMO_USER.password);
    // Core's store key would let a guessed password be tested at PBKDF2's pace.
    expect(text).not.toContain(key);
  });

  it('lets concurrent commands make one login and leave a whole file', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        runCli(['request', 'GET', '/user/users/me'], { env, timeoutMs: 20_000 }),
      ),
    );
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(mock.stats.successfulLogins).toBe(1);
    expect(await readdir(directory())).toEqual([cacheFile().slice(directory().length + 1)]);
    expect(JSON.parse(await readFile(cacheFile(), 'utf8'))).toMatchObject({
      version: 2,
      salt: expect.any(String),
      entries: [{ id: expect.any(String), token: expect.any(Object) }],
    });
    expect((await runCli(['token'], { env })).code).toBe(0);
    expect(mock.stats.successfulLogins).toBe(1);
  });

  it('ignores a corrupt file with one warning line that quotes nothing of it, then replaces it', async () => {
    await printedToken(['token']);
    const canary = 'canary-Corrupt-0f9e8d';
    for (const [content, reason] of [
      [`{"version":1,"key":"${canary}`, 'not JSON'],
      [JSON.stringify({ version: 1, token: canary }), 'unknown shape'],
      [
        JSON.stringify({
          version: 2,
          salt: zeroSalt,
          entries: [{ id: 'k' }, { id: 'k', token: canary }],
        }),
        'unknown shape',
      ],
    ] as const) {
      await writeFile(cacheFile(), content, { mode: 0o600 });
      const logins = mock.stats.successfulLogins;
      const result = await runCli(['request', 'GET', '/user/users/me'], { env });
      expect(result.code).toBe(0);
      expect(oneErrorLine(result.stderr)).toBe(
        `tokenfetch: warning: ignored the token cache file ${cacheFile()}: not a tokenfetch cache file (${reason})`,
      );
      expect(result.stderr).not.toContain(canary);
      expect(mock.stats.successfulLogins).toBe(logins + 1);
      // Replaced: the next command is quiet and makes no login.
      expect(await runCli(['token'], { env })).toMatchObject({ code: 0, stderr: '' });
      expect(mock.stats.successfulLogins).toBe(logins + 1);
    }
  });

  it('ignores a file that others may read, with one warning, and replaces it', async () => {
    const token = await printedToken(['token']);
    await chmod(cacheFile(), 0o644);
    const result = await runCli(['token'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).not.toBe(token);
    expect(oneErrorLine(result.stderr)).toContain('others may read or write it (mode 644)');
    expect(result.stderr).not.toContain(token);
    expect((await stat(cacheFile())).mode & 0o777).toBe(0o600);
  });

  it('does not use a cache directory that is not a directory: one warning, then a login', async () => {
    await writeFile(directory(), 'not a directory');
    const result = await runCli(['request', 'GET', '/user/users/me'], { env });
    expect(result.code).toBe(0);
    expect(oneErrorLine(result.stderr)).toBe(
      `tokenfetch: warning: not using the token cache: ${directory()} cannot be used (EEXIST)`,
    );
  });

  it('--no-cache and TOKENFETCH_CACHE=off neither read nor write it', async () => {
    const cached = await printedToken(['token']);
    const before = await readFile(cacheFile(), 'utf8');
    expect(await printedToken(['token', '--no-cache'])).not.toBe(cached);
    const off = await runCli(['request', 'GET', '/user/users/me', '--no-cache'], { env });
    expect(off.code).toBe(0);
    expect(await printedToken(['token'], { TOKENFETCH_CACHE: 'off' })).not.toBe(cached);
    expect(mock.stats.successfulLogins).toBe(4);
    expect(await readFile(cacheFile(), 'utf8')).toBe(before);

    const empty = await mkdtemp(join(tmpdir(), 'tokenfetch-cache-off-'));
    try {
      await printedToken(['token'], { XDG_CACHE_HOME: empty, TOKENFETCH_CACHE: 'off' });
      expect(await readdir(empty)).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    const bad = await runCli(['token'], { env: { ...env, TOKENFETCH_CACHE: 'sometimes' } });
    expect(bad.code).toBe(2);
    expect(oneErrorLine(bad.stderr)).toBe('tokenfetch: TOKENFETCH_CACHE must be on or off');
  });

  it('never caches an API key', async () => {
    const result = await runCli(['request', 'GET', '/user/users/me'], {
      env: { ...apiKeyEnv(mock), XDG_CACHE_HOME: cache },
    });
    expect(result.code).toBe(0);
    expect(await readdir(cache)).toEqual([]);
  });

  it('logout deletes the entry of the current configuration only', async () => {
    const other = await startMockUpstream();
    try {
      await printedToken(['token']);
      await printedToken(['token'], { API_BASE_URL: other.baseUrl });
      expect(await readdir(directory())).toHaveLength(2);

      // No password needed.
      const withoutPassword = { ...env, API_PASSWORD: '' };
      const logout = await runCli(['logout'], { env: withoutPassword });
      expect(logout).toEqual({
        code: 0,
        stdout: `removed the cached token of ${DEMO_USER.email} (org 1) at ${mock.baseUrl}\n`,
        stderr: '',
      });
      expect(await readdir(directory())).toEqual([cacheFile(other).slice(directory().length + 1)]);
      const again = await runCli(['logout'], { env: withoutPassword });
      expect(again.stdout).toBe(
        `no cached token of ${DEMO_USER.email} (org 1) at ${mock.baseUrl}\n`,
      );
      mock.resetStats();
      await printedToken(['token']);
      expect(mock.stats.successfulLogins).toBe(1);

      const apiKey = await runCli(['logout'], {
        env: { ...apiKeyEnv(mock), XDG_CACHE_HOME: cache },
      });
      expect(apiKey).toEqual({
        code: 0,
        stdout: 'nothing to remove: an API key is never cached\n',
        stderr: '',
      });
      const extra = await runCli(['logout', 'now'], { env });
      expect(extra.code).toBe(2);
      expect(oneErrorLine(extra.stderr)).toContain('logout takes no arguments');
      expect(await readdir(directory())).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  it('token prints a cached token only while it has more than its refresh window left', async () => {
    // A real token, stored as if its 15 minutes were nearly over: 90 s left, less than
    // the 2-minute window.
    const login = await fetch(`${mock.baseUrl}/user/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: DEMO_USER.email,
        password: DEMO_USER.password,
        selectedOrg: 1,
      }),
    });
    const { token } = (await login.json()) as { token: string };
    await mkdir(directory(), { mode: 0o700 });
    const store = createFileTokenStore({
      file: cacheFile(),
      seal: createPasswordSeal(DEMO_USER.password),
      warn: (message) => {
        throw new Error(message);
      },
    });
    const key = await storeKeyOfMock();
    const lease = await store.acquire(key);
    if (lease === undefined) throw new Error('no lease');
    const now = Date.now();
    await store.commit(lease, { token, issuedAt: now - 810_000, expiresAt: now + 90_000 });
    mock.resetStats();

    // request sends it: core uses a token until its last second.
    const request = await runCli(['request', 'GET', '/user/users/me'], { env });
    expect(request.code).toBe(0);
    expect(mock.stats.loginAttempts).toBe(0);
    // token does not print it: a script would get a token about to expire.
    const printed = await printedToken(['token']);
    expect(printed).not.toBe(token);
    expect(mock.stats.successfulLogins).toBe(1);
  });
});

/**
 * Core's store key of the test configuration: what a client configured as the CLI's asks
 * its store for (it then logs in without the store).
 */
async function storeKeyOfMock(): Promise<string> {
  let asked: string | undefined;
  const refuse = () => Promise.reject(new Error('recording only'));
  const client = createApiClient({
    ...loadOptionsFromEnv(sessionEnv(mock)),
    store: {
      get: (key) => {
        asked = key;
        return refuse();
      },
      acquire: refuse,
      commit: refuse,
      release: refuse,
      invalidate: refuse,
      getFailure: refuse,
    },
    onEvent: () => {},
  });
  try {
    await client.getToken();
  } finally {
    await client.close();
  }
  if (asked === undefined) throw new Error('no store key');
  return asked;
}

/** 16 zero bytes: a salt in the form the file keeps. */
const zeroSalt = Buffer.alloc(16).toString('base64');

/** What the version before sealed: AES-256-GCM under scrypt(password, a salt of its own). */
function sealedByVersion1(password: string, text: string, context: string) {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    data: data.toString('base64'),
  };
}

describe('the cache file store', () => {
  const key = 'a'.repeat(64);
  const sealed = createPasswordSeal('the password');

  function fileStore(options: { uid?: number; warnings?: string[] } = {}) {
    return createFileTokenStore({
      file: join(cache, 'entry.json'),
      seal: sealed,
      warn: (message) => options.warnings?.push(message),
      ...(options.uid === undefined ? {} : { uid: options.uid }),
    });
  }

  async function stored(token: string): Promise<void> {
    const store = fileStore();
    const lease = await store.acquire(key);
    if (lease === undefined) throw new Error('no lease');
    const now = Date.now();
    expect(await store.commit(lease, { token, issuedAt: now, expiresAt: now + 900_000 })).toBe(
      true,
    );
  }

  it('ignores a file owned by another user, with one warning that quotes no token', async () => {
    await stored('canary-Foreign-Token-7');
    const uid = process.getuid?.() ?? 0;
    expect(await fileStore().get(key)).toMatchObject({ token: 'canary-Foreign-Token-7' });
    // The same file, judged by a user it does not belong to.
    const warnings: string[] = [];
    const foreign = fileStore({ uid: uid + 1, warnings });
    expect(await foreign.get(key)).toBeUndefined();
    expect(await foreign.getFailure(key)).toBeUndefined();
    expect(warnings).toEqual([
      `ignored the token cache file ${join(cache, 'entry.json')}: owned by uid ${uid}, not by this user (uid ${uid + 1})`,
    ]);
  });

  it('does not open what another password sealed', async () => {
    await stored('canary-Sealed-Token-8');
    const other = createFileTokenStore({
      file: join(cache, 'entry.json'),
      seal: createPasswordSeal('another password'),
      warn: (message) => {
        throw new Error(message);
      },
    });
    expect(await other.get(key)).toBeUndefined();
  });

  it('refuses a commit older than the stored generation', async () => {
    const store = fileStore();
    const first = await store.acquire(key);
    if (first === undefined) throw new Error('no lease');
    const now = Date.now();
    const token = { token: 'older', issuedAt: now, expiresAt: now + 900_000 };
    await store.release(first);
    const second = await store.acquire(key);
    if (second === undefined) throw new Error('no lease');
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(await store.commit(second, { ...token, token: 'newer' })).toBe(true);
    expect(await store.commit(first, token)).toBe(false);
    expect(await store.get(key)).toMatchObject({ token: 'newer', generation: second.generation });
  });

  /** A store of its own key and password on the same file. */
  function keyStore(name: string, password = 'the password') {
    const seal = password === 'the password' ? sealed : createPasswordSeal(password);
    return {
      key: name.padEnd(64, '0'),
      seal,
      store: createFileTokenStore({
        file: join(cache, 'entry.json'),
        seal,
        warn: (message) => {
          throw new Error(message);
        },
      }),
    };
  }

  /** The ids of the file's entries, in order, and those of `stores`' keys in that file. */
  async function ids(
    ...stores: { key: string; seal: PasswordSeal }[]
  ): Promise<{ file: string[]; of: string[] }> {
    const file = JSON.parse(await readFile(join(cache, 'entry.json'), 'utf8')) as {
      version: number;
      salt: string;
      entries: { id: string }[];
    };
    expect(file.version).toBe(2);
    const of: string[] = [];
    for (const { key, seal } of stores) of.push((await seal.withSalt(file.salt))?.name(key) ?? '');
    return { file: file.entries.map((entry) => entry.id), of };
  }

  async function commitTo(
    { key, store }: ReturnType<typeof keyStore>,
    token: string,
  ): Promise<number> {
    const lease = await store.acquire(key);
    if (lease === undefined) throw new Error('no lease');
    const now = Date.now();
    expect(await store.commit(lease, { token, issuedAt: now, expiresAt: now + 900_000 })).toBe(
      true,
    );
    return lease.generation;
  }

  it("keeps each key's token and refusal beside the others': none writes over another's", async () => {
    const right = keyStore('a1', 'right password');
    const wrong = keyStore('b2', 'wrong password');
    const generation = await commitTo(right, 'canary-Right-Token-1');
    const lease = await wrong.store.acquire(wrong.key);
    if (lease === undefined) throw new Error('no lease');
    const refusal = { code: 'E_INVALID_CREDENTIALS', until: Date.now() + 30_000 } as const;
    await wrong.store.release(lease, refusal);

    expect(await right.store.get(right.key)).toMatchObject({ token: 'canary-Right-Token-1' });
    expect(await right.store.getFailure(right.key)).toBeUndefined();
    expect(await wrong.store.getFailure(wrong.key)).toEqual(refusal);
    expect(await wrong.store.get(wrong.key)).toBeUndefined();
    const both = await ids(right, wrong);
    expect(both.file).toEqual(both.of);
    expect(new Set(both.of).size).toBe(2);

    // Dropping one key's token leaves the other's refusal, and the other way round.
    await right.store.invalidate(right.key, generation);
    expect(await right.store.get(right.key)).toBeUndefined();
    expect(await wrong.store.getFailure(wrong.key)).toEqual(refusal);
    const one = await ids(wrong);
    expect(one.file).toEqual(one.of);
    await commitTo(right, 'canary-Right-Token-2');
    await commitTo(wrong, 'canary-Wrong-Token-3');
    expect(await right.store.get(right.key)).toMatchObject({ token: 'canary-Right-Token-2' });
    expect(await wrong.store.get(wrong.key)).toMatchObject({ token: 'canary-Wrong-Token-3' });
    // A login that worked ended the refusal of its key.
    expect(await wrong.store.getFailure(wrong.key)).toBeUndefined();
  });

  it(`keeps at most ${maxCacheEntries} keys, the least recently written dropped first`, async () => {
    const stores = Array.from({ length: maxCacheEntries + 2 }, (_, index) => keyStore(`k${index}`));
    const [first, second, third] = stores;
    if (first === undefined || second === undefined || third === undefined) throw new Error();
    for (const entry of stores.slice(0, maxCacheEntries)) await commitTo(entry, entry.key);
    expect((await ids()).file).toHaveLength(maxCacheEntries);
    // Written again, the first key is the most recent: the second and third go instead.
    await commitTo(first, 'again');
    for (const entry of stores.slice(maxCacheEntries)) await commitTo(entry, entry.key);
    const kept = await ids(
      ...stores.slice(3, maxCacheEntries),
      first,
      ...stores.slice(maxCacheEntries),
    );
    expect(kept.file).toEqual(kept.of);
    expect(await second.store.get(second.key)).toBeUndefined();
    expect(await third.store.get(third.key)).toBeUndefined();
    expect(await first.store.get(first.key)).toMatchObject({ token: 'again' });
    for (const entry of stores.slice(3)) {
      expect(await entry.store.get(entry.key)).toMatchObject({ token: entry.key });
    }
  });

  it('reads a file of the previous version as a quiet miss, and the next write replaces it', async () => {
    // What the version before wrote: one record, sealed under the same password.
    const generation = Date.now();
    const now = Date.now();
    const text = JSON.stringify({ token: 'canary-V1-Token', issuedAt: now, expiresAt: now + 9e5 });
    const token = sealedByVersion1(
      'the password',
      text,
      `tokenfetch-cache-v1|token|${key}|${generation}`,
    );
    await writeFile(
      join(cache, 'entry.json'),
      JSON.stringify({ version: 1, key, token: { ...token, generation } }),
      { mode: 0o600 },
    );
    const warnings: string[] = [];
    const store = fileStore({ warnings });
    expect(await store.get(key)).toBeUndefined();
    expect(await store.getFailure(key)).toBeUndefined();
    await stored('canary-V2-Token');
    expect(await store.get(key)).toMatchObject({ token: 'canary-V2-Token' });
    const replaced = await ids({ key, seal: sealed });
    expect(replaced.file).toEqual(replaced.of);
    expect(warnings).toEqual([]);
  });

  it('gives the login lock to one holder; takes it over at once from a process that is gone', async () => {
    const store = fileStore();
    const lease = await store.acquire(key);
    expect(lease).toBeDefined();
    expect(await fileStore().acquire(key)).toBeUndefined();

    // A lock whose process has exited (a command killed during its login).
    const gone = await exitedPid();
    await writeFile(
      join(cache, 'entry.json.lock'),
      JSON.stringify({ id: 'x', pid: gone, host: hostname(), until: Date.now() + 30_000 }),
    );
    expect(await fileStore().acquire(key)).toBeDefined();
  });
});

/** The pid of a process that has run and exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

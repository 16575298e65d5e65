import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoApiKey, demoUser } from '../src/demo.js';
import { envFileMarker, envFileText, writeEnvFile } from '../src/env-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenfetch-mock-env-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** What `node --env-file=PATH` puts in process.env: Node's own reading of the file. */
function loadedByNode(path: string): Record<string, string | undefined> {
  const script = 'console.log(JSON.stringify(process.env))';
  const result = spawnSync(process.execPath, [`--env-file=${path}`, '-e', script], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Record<string, string | undefined>;
}

describe('writeEnvFile', () => {
  it('writes the session variables, owner-only, in a form `node --env-file` loads', async () => {
    const path = join(dir, '.env');
    await writeEnvFile(path, 'http://127.0.0.1:4010/api');

    expect(await modeOf(path)).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe(envFileText('http://127.0.0.1:4010/api', path));
    const env = loadedByNode(path);
    expect(env).toMatchObject({
      API_BASE_URL: 'http://127.0.0.1:4010/api',
      API_EMAIL: demoUser.email,
      API_PASSWORD: demoUser.password,
      API_ORG_ID: '1',
    });
    // The API key is there to uncomment, not set: API_KEY beside the three is a ConfigError.
    expect(env.API_KEY).toBeUndefined();
    expect(await readFile(path, 'utf8')).toContain(`# API_KEY=${demoApiKey}`);
  });

  it('rewrites a file it wrote before, with the new base URL and mode 0600 again', async () => {
    const path = join(dir, '.env');
    await writeEnvFile(path, 'http://127.0.0.1:4010/api');
    await chmod(path, 0o644);
    await writeEnvFile(path, 'http://127.0.0.1:5555/api');

    expect(await modeOf(path)).toBe(0o600);
    expect(loadedByNode(path).API_BASE_URL).toBe('http://127.0.0.1:5555/api');
  });

  it('refuses a file it did not write, and leaves it as it was', async () => {
    const path = join(dir, '.env');
    const real = 'API_BASE_URL=https://acme.resolver.com/api\nAPI_PASSWORD=the-real-one\n';
    await writeFile(path, real);

    await expect(writeEnvFile(path, 'http://127.0.0.1:4010/api')).rejects.toThrow(
      `${path} exists and was not written by tokenfetch-mock: not overwriting it`,
    );
    expect(await readFile(path, 'utf8')).toBe(real);
    // Its marker must start the file: a mention further down does not make it the mock's.
    await writeFile(path, `API_PASSWORD=x\n${envFileMarker}\n`);
    await expect(writeEnvFile(path, 'http://127.0.0.1:4010/api')).rejects.toThrow(/not written/);
  });

  it('says why when the path cannot be read (a directory)', async () => {
    await expect(writeEnvFile(dir, 'http://127.0.0.1:4010/api')).rejects.toThrow(
      `cannot use ${dir} as the env file`,
    );
  });
});

/** The real bin, as users run it. It imports dist/: build first (`pnpm build`). */
const bin = fileURLToPath(new URL('../bin/tokenfetch-mock.js', import.meta.url));

describe('tokenfetch-mock --write-env', () => {
  it('writes the file an app loads with node --env-file, and prints no password or key', async () => {
    expect(existsSync(new URL('../dist/bin.js', import.meta.url)), 'run pnpm build first').toBe(
      true,
    );
    const path = join(dir, '.env');
    const child = spawn(process.execPath, [bin, '--port', '0', '--write-env', path], {
      env: { PATH: process.env.PATH ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    try {
      // The file does not exist yet: the case Node's own --env-file check would stop.
      while (!stdout.includes('Press Ctrl+C')) {
        await Promise.race([
          once(child.stdout, 'data'),
          exited.then(([code]) => {
            throw new Error(`tokenfetch-mock exited (${String(code)}): ${stderr}`);
          }),
        ]);
      }
      const baseUrl = /listening on (\S+)/.exec(stdout)?.[1] ?? '';

      const env = loadedByNode(path);
      expect(env.API_BASE_URL).toBe(baseUrl);
      const login = await fetch(`${baseUrl}/user/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: env.API_EMAIL,
          password: env.API_PASSWORD,
          selectedOrg: Number(env.API_ORG_ID),
        }),
      });
      expect(login.status).toBe(200);
      expect(stdout).toContain(`node --env-file=${path} app.js`);
      expect(stdout).not.toContain(demoUser.password);
      expect(stdout).not.toContain(demoApiKey);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(await modeOf(path)).toBe(0o600);
  });

  it('stops with exit code 1 before serving when the file is not its own', async () => {
    const path = join(dir, '.env');
    await writeFile(path, 'API_PASSWORD=the-real-one\n');
    const result = spawnSync(process.execPath, [bin, '--port', '0', '--write-env', path], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`tokenfetch-mock: ${path} exists and was not written`);
    expect(result.stdout).toBe('');
    expect(await readFile(path, 'utf8')).toBe('API_PASSWORD=the-real-one\n');
  });
});

import { execFile } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import {
  apiKeyEnv,
  assertBuilt,
  binPath,
  closedPort,
  oneErrorLine,
  runCli,
  sessionEnv,
} from './helpers.js';

let mock: MockUpstream;
beforeAll(async () => {
  assertBuilt();
  mock = await startMockUpstream();
});
afterEach(() => mock.setLoginResponse(undefined));
afterAll(() => mock.close());

const tokenPattern = /^[\x21-\x7E]+$/;

async function authenticates(token: string): Promise<boolean> {
  const res = await fetch(`${mock.baseUrl}/user/users/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status === 200;
}

/** Runs `script` with `sh -c`, PATH and `env` as its environment (and a cache of its own). */
function shell(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', script],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TOKENFETCH_CACHE: 'off', ...env },
        timeout: 10_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('tokenfetch token', () => {
  it('logs in with the API_* environment and prints the token alone, which the upstream accepts', async () => {
    const result = await runCli(['token'], { env: sessionEnv(mock) });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.endsWith('\n')).toBe(true);
    const token = result.stdout.slice(0, -1);
    expect(token).toMatch(tokenPattern);
    expect(await authenticates(token)).toBe(true);
  });

  it('--json prints { token, expiresAt } with expiresAt an ISO date 15 minutes ahead', async () => {
    const before = Date.now();
    const result = await runCli(['token', '--json'], { env: sessionEnv(mock) });
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { token: string; expiresAt: string };
    expect(Object.keys(printed).sort()).toEqual(['expiresAt', 'token']);
    expect(new Date(printed.expiresAt).toISOString()).toBe(printed.expiresAt);
    const expiresAt = Date.parse(printed.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(await authenticates(printed.token)).toBe(true);
  });

  it('--header prints an Authorization line for curl -H', async () => {
    const result = await runCli(['token', '--header'], { env: sessionEnv(mock) });
    expect(result.code).toBe(0);
    const match = /^Authorization: Bearer ([\x21-\x7E]+)\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    expect(await authenticates(match?.[1] ?? '')).toBe(true);
  });

  it('--header piped into curl -H @- is one header line that curl sends and the upstream accepts', async () => {
    // As the READMEs teach it: curl reads the header from stdin (curl >= 7.55).
    const { code, stdout, stderr } = await shell(
      `"$NODE" "$BIN" token --header | curl -sS --fail -H @- "$API_BASE_URL/user/users/me"`,
      { ...sessionEnv(mock), NODE: process.execPath, BIN: binPath },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({ email: DEMO_USER.email });
    const sent = mock.requests.filter((r) => r.path === '/api/user/users/me').at(-1)?.headers;
    const authorization = String(sent?.authorization);
    expect(authorization).toMatch(/^Bearer [\x21-\x7E]+$/);
    expect(await authenticates(authorization.slice('Bearer '.length))).toBe(true);
  });

  it('--base-url, --email and --org stand in for the environment and win over it', async () => {
    const result = await runCli(
      ['token', '--base-url', mock.baseUrl, '--email', DEMO_USER.email, '--org', '1'],
      { env: { API_PASSWORD: DEMO_USER.password, API_ORG_ID: '999', API_EMAIL: 'x@y.z' } },
    );
    expect(result.code).toBe(0);
    expect(await authenticates(result.stdout.trim())).toBe(true);
  });

  it('ignores API_KEY when session credentials are set', async () => {
    const result = await runCli(['token'], {
      env: { ...sessionEnv(mock), API_KEY: 'demo-api-key' },
    });
    expect(result.code).toBe(0);
  });

  it('exits 3 on invalid credentials (401), with one line that does not print the password', async () => {
    const canary = 'canary-Pw-7f3a9c';
    const result = await runCli(['token'], {
      env: { ...sessionEnv(mock), API_PASSWORD: canary },
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(oneErrorLine(result.stderr)).toContain('invalid credentials');
    expect(result.stdout + result.stderr).not.toContain(canary);
  });

  it('exits 4 when the user is not an active member of the org (404)', async () => {
    const result = await runCli(['token'], { env: { ...sessionEnv(mock), API_ORG_ID: '999' } });
    expect(result.code).toBe(4);
    expect(oneErrorLine(result.stderr)).toContain('not an active member');
  });

  it('exits 5 when the login answer carries no token', async () => {
    mock.setLoginResponse(() => ({ body: JSON.stringify({ ok: true }) }));
    const result = await runCli(['token'], { env: sessionEnv(mock) });
    expect(result.code).toBe(5);
    expect(oneErrorLine(result.stderr)).toBe(
      'tokenfetch: login answer has no token (saw a JSON object with keys: ok)',
    );
  });

  it('exits 5 when the upstream cannot be reached, after the retries', async () => {
    const port = await closedPort();
    const result = await runCli(['token'], {
      env: { ...sessionEnv(mock), API_BASE_URL: `http://127.0.0.1:${port}/api` },
    });
    expect(result.code).toBe(5);
    expect(oneErrorLine(result.stderr)).toMatch(/^tokenfetch: login failed.*\(ECONNREFUSED\)$/);
  });

  it('exits 2 and lists every missing variable, with its flag, on one line', async () => {
    const result = await runCli(['token']);
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toBe(
      'tokenfetch: invalid configuration: API_BASE_URL (--base-url): required; ' +
        'API_EMAIL (--email): required; ' +
        'API_PASSWORD: required (set it in the environment, or run on a terminal to be asked); ' +
        'API_ORG_ID (--org): required',
    );
  });

  it('exits 2 on a base URL that is plain http to a remote host', async () => {
    const result = await runCli(['token'], {
      env: { ...sessionEnv(mock), API_BASE_URL: 'http://example.com/api' },
    });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toContain(
      'API_BASE_URL (--base-url): must be an https URL',
    );
  });

  it('exits 2 with API_KEY alone: an API key has no session token', async () => {
    const result = await runCli(['token'], { env: apiKeyEnv(mock) });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toMatch(
      /^tokenfetch: a session token needs API_EMAIL, API_PASSWORD and API_ORG_ID \(API_KEY has no session\): API_EMAIL/,
    );
  });

  it('exits 2 on --json with --header, and on arguments', async () => {
    const both = await runCli(['token', '--json', '--header'], { env: sessionEnv(mock) });
    expect(both.code).toBe(2);
    expect(oneErrorLine(both.stderr)).toContain('--json and --header cannot be used together');
    const extra = await runCli(['token', 'something'], { env: sessionEnv(mock) });
    expect(extra.code).toBe(2);
    expect(oneErrorLine(extra.stderr)).toContain('token takes no arguments');
    expect(extra.stderr).not.toContain('something');
  });

  it('makes no login when the configuration is invalid', async () => {
    mock.resetStats();
    const flags = await runCli(['token', '--json', '--header'], { env: sessionEnv(mock) });
    expect(flags.code).toBe(2);
    expect(oneErrorLine(flags.stderr)).toContain('--json and --header cannot be used together');
    const url = await runCli(['token'], { env: { ...sessionEnv(mock), API_BASE_URL: 'ftp://x' } });
    expect(url.code).toBe(2);
    expect(oneErrorLine(url.stderr)).toMatch(
      /^tokenfetch: invalid configuration: API_BASE_URL \(--base-url\): /,
    );
    expect(mock.stats.loginAttempts).toBe(0);
  });
});

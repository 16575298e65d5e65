import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { assertBuilt, runInPty } from './helpers.js';

// stdin and stdout are a pseudo-terminal here (util-linux `script`, else python3's pty). The
// terminal echoes what is typed unless the program turns echo off, so a password in the
// output means the prompt echoed it. The answer is typed only once the prompt shows.

let mock: MockUpstream;
beforeAll(async () => {
  assertBuilt();
  mock = await startMockUpstream();
});
afterAll(() => mock.close());

const withoutPassword = (m: MockUpstream) => ({
  API_BASE_URL: m.baseUrl,
  API_EMAIL: DEMO_USER.email,
  API_ORG_ID: '1',
});
const prompt = /Password for demo@example\.com: /;

async function authenticates(token: string): Promise<boolean> {
  const res = await fetch(`${mock.baseUrl}/user/users/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status === 200;
}

describe('password prompt on a terminal', () => {
  it('asks without echo when API_PASSWORD is unset, then prints the token', async () => {
    const result = await runInPty(['token'], {
      env: withoutPassword(mock),
      answers: [{ when: prompt, send: `${DEMO_USER.password}\r` }],
    });
    expect(result.code).toBe(0);
    expect(result.output).not.toContain(DEMO_USER.password);
    const match = /^Password for demo@example\.com: \n([\x21-\x7E]+)\n$/.exec(result.output);
    expect(match, result.output).not.toBeNull();
    expect(await authenticates(match?.[1] ?? '')).toBe(true);
  });

  it('exits 3 on a wrong password typed at the prompt, without showing it', async () => {
    const canary = 'canary-Typed-Pw-33';
    const result = await runInPty(['token', '--header'], {
      env: withoutPassword(mock),
      answers: [{ when: prompt, send: `${canary}\r` }],
    });
    expect(result.code).toBe(3);
    expect(result.output).not.toContain(canary);
    expect(result.output).toContain(
      'tokenfetch: login refused: invalid credentials (401): check the email and password',
    );
  });

  it('exits 130 on Ctrl+C at the prompt, and makes no login', async () => {
    mock.resetStats();
    const result = await runInPty(['token'], {
      env: withoutPassword(mock),
      answers: [{ when: prompt, send: '\u0003' }],
    });
    expect(result.code).toBe(130);
    expect(result.output).toContain('tokenfetch: cancelled');
    expect(mock.stats.loginAttempts).toBe(0);
  });

  it('does not ask before the rest of the configuration is valid', async () => {
    const result = await runInPty(['token'], {
      env: { API_EMAIL: DEMO_USER.email, API_ORG_ID: '1' },
    });
    expect(result.code).toBe(2);
    expect(result.output).not.toMatch(/Password/);
    expect(result.output).toContain('API_BASE_URL (--base-url): required');
  });

  it('request asks too, and pretty-prints JSON on a terminal', async () => {
    const result = await runInPty(['request', 'GET', '/user/users/me'], {
      env: withoutPassword(mock),
      answers: [{ when: prompt, send: `${DEMO_USER.password}\r` }],
    });
    expect(result.code).toBe(0);
    expect(result.output).not.toContain(DEMO_USER.password);
    const body = result.output.replace(prompt, '').trim();
    expect(body).toBe(
      JSON.stringify(
        {
          id: 1,
          email: DEMO_USER.email,
          firstName: 'Demo',
          lastName: 'User',
          currentOrg: { id: 1 },
        },
        null,
        2,
      ),
    );
  });
});

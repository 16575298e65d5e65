import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import {
  apiKeyEnv,
  assertBuilt,
  closedPort,
  oneErrorLine,
  runCli,
  runCliIntoHead,
  sessionEnv,
} from './helpers.js';

interface Echo {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

let mock: MockUpstream;
let dir: string;
beforeAll(async () => {
  assertBuilt();
  mock = await startMockUpstream();
  dir = await mkdtemp(join(tmpdir(), 'tokenfetch-cli-'));
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tokenfetch request', () => {
  it('GET /user/users/me with the session token prints the raw body when stdout is not a terminal', async () => {
    const result = await runCli(['request', 'GET', '/user/users/me'], { env: sessionEnv(mock) });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const me = JSON.parse(result.stdout) as { email: string; currentOrg: { id: number } };
    expect(me).toMatchObject({ email: DEMO_USER.email, currentOrg: { id: 1 } });
    // Raw: exactly the bytes the upstream sent (compact JSON, no newline added).
    expect(result.stdout).toBe(JSON.stringify(me));
  });

  it('uses API_KEY when it is set, without any login', async () => {
    mock.resetStats();
    const result = await runCli(['request', 'get', '/user/users/me'], { env: apiKeyEnv(mock) });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ email: 'api-key@mock-upstream.invalid' });
    expect(mock.stats.loginAttempts).toBe(0);
    expect(mock.requests.at(-1)?.headers['x-api-key']).toBe('demo-api-key');
  });

  it('-d sends a JSON body as application/json', async () => {
    const result = await runCli(['request', 'POST', '/data/object?x=1', '-d', '{"name":"a"}'], {
      env: sessionEnv(mock),
    });
    expect(result.code).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo).toMatchObject({ method: 'POST', path: '/api/data/object', query: { x: '1' } });
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.body).toEqual({ name: 'a' });
  });

  it('-d @file.json reads the body from a file', async () => {
    const file = join(dir, 'object.json');
    await writeFile(file, '{\n  "fromFile": [1, 2]\n}\n');
    const result = await runCli(['request', 'PUT', '/data/object/1', '-d', `@${file}`], {
      env: apiKeyEnv(mock),
    });
    expect(result.code).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo).toMatchObject({ method: 'PUT', body: { fromFile: [1, 2] } });
    expect(echo.headers['content-type']).toBe('application/json');
  });

  it('-d @- reads the body from stdin; text that is not JSON goes as text/plain', async () => {
    const result = await runCli(['request', 'POST', '/notes', '-d', '@-'], {
      env: apiKeyEnv(mock),
      input: 'just text',
    });
    expect(result.code).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo.body).toBe('just text');
    expect(echo.headers['content-type']).toBe('text/plain;charset=utf-8');
  });

  it('-d with bytes that are not UTF-8 goes as application/octet-stream', async () => {
    const file = join(dir, 'blob.bin');
    await writeFile(file, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    const result = await runCli(['request', 'POST', '/blobs', '-d', `@${file}`], {
      env: apiKeyEnv(mock),
    });
    expect(result.code).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo.headers['content-type']).toBe('application/octet-stream');
  });

  it('-H adds headers (repeatable) and a -H content-type wins over the JSON guess', async () => {
    const result = await runCli(
      [
        'request',
        'PATCH',
        '/things/1',
        '-d',
        '{"a":1}',
        '-H',
        'content-type: application/merge-patch+json',
        '-H',
        'x-request-id: 42',
        '--header',
        'x-tag: one',
        '-H',
        'x-tag: two',
      ],
      { env: sessionEnv(mock) },
    );
    expect(result.code).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo.headers).toMatchObject({
      'content-type': 'application/merge-patch+json',
      'x-request-id': '42',
      'x-tag': 'one, two',
    });
    expect(echo.body).toEqual({ a: 1 });
  });

  it('-i prints the status line and the headers before the body', async () => {
    const result = await runCli(['request', 'GET', '/user/users/me', '-i'], {
      env: sessionEnv(mock),
    });
    expect(result.code).toBe(0);
    const [head = '', body = ''] = result.stdout.split('\n\n');
    const lines = head.split('\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines).toContain('content-type: application/json; charset=utf-8');
    expect(JSON.parse(body)).toMatchObject({ email: DEMO_USER.email });
  });

  it('exits 6 when the upstream answers non-2xx, still printing the body (and the status with -i)', async () => {
    const result = await runCli(['request', 'GET', '/status/404', '-i'], {
      env: sessionEnv(mock),
    });
    expect(result.code).toBe(6);
    expect(result.stdout.startsWith('HTTP/1.1 404 Not Found\n')).toBe(true);
    expect(result.stdout.endsWith('{"status":404,"message":"Not Found"}')).toBe(true);
    expect(oneErrorLine(result.stderr)).toBe(
      'tokenfetch: upstream answered 404 for GET /api/status/404',
    );
  });

  it('exits 6 on a 403 that persists after the one re-login', async () => {
    mock.resetStats();
    const result = await runCli(['request', 'DELETE', '/status/403'], { env: sessionEnv(mock) });
    expect(result.code).toBe(6);
    expect(mock.stats.successfulLogins).toBe(2);
  });

  it('exits 3 and 4 when the session login is refused', async () => {
    const denied = await runCli(['request', 'GET', '/user/users/me'], {
      env: { ...sessionEnv(mock), API_PASSWORD: 'canary-Pw-request' },
    });
    expect(denied.code).toBe(3);
    expect(denied.stdout + denied.stderr).not.toContain('canary-Pw-request');
    const noOrg = await runCli(['request', 'GET', '/user/users/me'], {
      env: { ...sessionEnv(mock), API_ORG_ID: '2' },
    });
    expect(noOrg.code).toBe(4);
  });

  it('exits 5 and sends nothing when the URL leaves the base URL', async () => {
    mock.resetStats();
    for (const target of ['https://example.com/api/x', '/../admin', '//evil.example/x']) {
      const result = await runCli(['request', 'GET', target], { env: apiKeyEnv(mock) });
      expect(result.code, target).toBe(5);
      expect(oneErrorLine(result.stderr)).toMatch(/^tokenfetch: refused/);
    }
    expect(mock.stats.calls).toBe(0);
  });

  it('exits 1 with one line when the API cannot be reached', async () => {
    const port = await closedPort();
    const result = await runCli(['request', 'GET', '/user/users/me'], {
      env: { ...apiKeyEnv(mock), API_BASE_URL: `http://127.0.0.1:${port}/api` },
    });
    expect(result.code).toBe(1);
    expect(oneErrorLine(result.stderr)).toBe('tokenfetch: could not reach the API (ECONNREFUSED)');
    expect(result.stderr).not.toContain('demo-api-key');
  });

  it('exits 2 on usage mistakes, without calling the upstream', async () => {
    mock.resetStats();
    const cases: [string[], string][] = [
      [['request'], 'request needs METHOD and PATH'],
      [['request', 'GET'], 'request needs METHOD and PATH'],
      [['request', 'GET', '/a', '/b'], 'request takes METHOD and PATH only'],
      [['request', 'G E T', '/a'], 'METHOD must be a word'],
      [['request', 'GET', '/a', '-d', '{}'], 'GET cannot send a body'],
      [['request', 'POST', '/a', '-H', 'no-colon'], "-H needs 'NAME: VALUE'"],
      [['request', 'POST', '/a', '-H', 'bad name: x'], "-H needs 'NAME: VALUE'"],
      [['request', 'POST', '/a', '-H', 'x-note: s\u20accret'], '-H x-note: the value must be'],
      [['request', 'POST', '/a', '-d', `@${join(dir, 'missing.json')}`], 'no such file'],
      [['request', 'GET', '/a', '-H', 'x-api-key: mine'], 'x-api-key: is set by tokenfetch'],
      [['request', 'GET', '/a', '--json'], 'unknown option --json'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { env: apiKeyEnv(mock) });
      expect(result.code, args.join(' ')).toBe(2);
      expect(oneErrorLine(result.stderr)).toContain(message);
    }
    expect(mock.stats.calls).toBe(0);
  });

  it('refuses Authorization with a session, impersonate-user-id with API_IMPERSONATE_USER_ID', async () => {
    mock.resetStats();
    const session = await runCli(['request', 'GET', '/a', '-H', 'Authorization: Bearer x'], {
      env: sessionEnv(mock),
    });
    expect(session.code).toBe(2);
    expect(oneErrorLine(session.stderr)).toContain('authorization: is set by tokenfetch');
    const impersonating = await runCli(['request', 'GET', '/a', '-H', 'impersonate-user-id: 9'], {
      env: { ...apiKeyEnv(mock), API_IMPERSONATE_USER_ID: '1' },
    });
    expect(impersonating.code).toBe(2);
    expect(oneErrorLine(impersonating.stderr)).toContain(
      'impersonate-user-id: is set by tokenfetch',
    );
    expect(mock.stats.calls).toBe(0);
  });

  it('never shows a header value it refuses', async () => {
    const canary = 'canary-\u20ac-Hdr-5e';
    const result = await runCli(['request', 'GET', '/a', '-H', `x-secret: ${canary}`], {
      env: apiKeyEnv(mock),
    });
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).not.toContain('canary');
  });

  it('ends quietly with exit 0 when the reader goes away (| head -c 10)', async () => {
    const file = join(dir, 'large.txt');
    // Larger than a pipe's buffer: the write is still going on when head has gone.
    await writeFile(file, 'x'.repeat(400_000));
    const result = await runCliIntoHead(['request', 'POST', '/echo', '-d', `@${file}`], 10, {
      env: apiKeyEnv(mock),
    });
    expect(result).toEqual({ code: 0, stdout: '{"method":', stderr: '' });
  });
});

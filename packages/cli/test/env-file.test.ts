import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { parseEnvFile } from '../src/env-file.js';
import { main } from '../src/main.js';
import { assertBuilt, oneErrorLine, runCli } from './helpers.js';

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines, skipping blank lines and comments', () => {
    const text = [
      '# a comment',
      '',
      'API_BASE_URL=https://acme.resolver.com/api',
      '  export API_EMAIL = me@acme.com   ',
      'API_ORG_ID=42 # the org',
      'EMPTY=',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      API_BASE_URL: 'https://acme.resolver.com/api',
      API_EMAIL: 'me@acme.com',
      API_ORG_ID: '42',
      EMPTY: '',
    });
  });

  it('keeps a # that does not follow whitespace, and CRLF line ends', () => {
    expect(parseEnvFile('API_PASSWORD=a#b\r\nURL=http://x/#frag\r\n')).toEqual({
      API_PASSWORD: 'a#b',
      URL: 'http://x/#frag',
    });
  });

  it('keeps a value that starts with #; a # after whitespace starts a comment', () => {
    expect(parseEnvFile('API_PASSWORD=#hunter2\nSPACED= #a comment\nTAB=\t#too\n')).toEqual({
      API_PASSWORD: '#hunter2',
      SPACED: '',
      TAB: '',
    });
  });

  it('reads quoted values: single literal, double with escapes, across lines', () => {
    const text = [
      `SINGLE='it has # and \\n and "quotes"' # comment`,
      'DOUBLE="tab\\there \\"q\\" back\\\\slash # not a comment"',
      'MULTI="line one',
      'line two"',
      'BACK=`x y`',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      SINGLE: 'it has # and \\n and "quotes"',
      DOUBLE: 'tab\there "q" back\\slash # not a comment',
      MULTI: 'line one\nline two',
      BACK: 'x y',
    });
  });

  it('lets a later assignment win', () => {
    expect(parseEnvFile('A=1\nA=2\n')).toEqual({ A: '2' });
  });

  it('names the line of a mistake but never prints its content', () => {
    const secret = 'sup3r-Secret';
    expect(() => parseEnvFile(`A=1\n${secret}\n`, 'env file .env')).toThrow(
      'env file .env, line 2: expected KEY=VALUE',
    );
    try {
      parseEnvFile(`A=1\nB="${secret}\n`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe('env file, line 2: the quoted value is never closed');
    }
    expect(() => parseEnvFile(`P='${secret}' trailing`)).toThrow(
      'line 1: unexpected text after the closing quote',
    );
  });
});

describe('tokenfetch --env-file', () => {
  let mock: MockUpstream;
  let dir: string;
  beforeAll(async () => {
    assertBuilt();
    mock = await startMockUpstream();
    dir = await mkdtemp(join(tmpdir(), 'tokenfetch-env-'));
  });
  afterAll(async () => {
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function envFile(name: string, text: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, text);
    return file;
  }

  it('reads the settings from a dotenv file, before or after the command', async () => {
    const file = await envFile(
      'session.env',
      [
        '# tokenfetch against the mock',
        `API_BASE_URL="${mock.baseUrl}"`,
        `export API_EMAIL='${DEMO_USER.email}'`,
        `API_PASSWORD=${DEMO_USER.password} # demo only`,
        'API_ORG_ID=1',
      ].join('\n'),
    );
    const after = await runCli(['token', '--env-file', file]);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^[\x21-\x7E]+\n$/);
    const before = await runCli(['--env-file', file, 'request', 'GET', '/user/users/me']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ email: DEMO_USER.email });
  });

  it('wins over the environment, and flags win over it', async () => {
    const file = await envFile('org.env', `API_BASE_URL=${mock.baseUrl}\nAPI_ORG_ID=999\n`);
    const env = {
      API_BASE_URL: 'https://wrong.example/api',
      API_EMAIL: DEMO_USER.email,
      API_PASSWORD: DEMO_USER.password,
      API_ORG_ID: '1',
    };
    expect((await runCli(['token', '--env-file', file], { env })).code).toBe(4);
    expect((await runCli(['token', '--env-file', file, '--org', '1'], { env })).code).toBe(0);
  });

  it('exits 2 on a missing file or a malformed line, naming the line only', async () => {
    const path = join(dir, 'nope.env');
    // Spawned: Node itself checks a file named by any --env-file argument, even one after
    // the script, and stops with exit 9 (nodejs/node#54232) before tokenfetch runs; so on
    // Node 20, 22 and 24. When Node stops doing so, this fails: the README says otherwise.
    const spawned = await runCli(['token', '--env-file', path]);
    expect(spawned).toEqual({
      code: 9,
      stdout: '',
      stderr: `${process.execPath}: ${path}: not found\n`,
    });
    // tokenfetch's own answer, when it gets to run.
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const io = { env: {}, stdin: new PassThrough(), stdout: new PassThrough(), stderr };
    expect(await main(['token', '--env-file', path], io)).toBe(2);
    expect(err).toBe(`tokenfetch: cannot read the env file ${path}: no such file\n`);

    const bad = await envFile('bad.env', 'API_EMAIL=a@b.c\nhunter2-canary\n');
    const malformed = await runCli(['token', '--env-file', bad]);
    expect(malformed.code).toBe(2);
    expect(oneErrorLine(malformed.stderr)).toBe(
      `tokenfetch: env file ${bad}, line 2: expected KEY=VALUE`,
    );
    expect(malformed.stderr).not.toContain('hunter2-canary');
  });
});

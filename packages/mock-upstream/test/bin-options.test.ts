import { describe, expect, it } from 'vitest';
import { defaultBinPort, formatBanner, parseBinArgs } from '../src/bin-options.js';
import { demoApiKey, demoUser } from '../src/demo.js';

describe('tokenfetch-mock arguments', () => {
  it('defaults to port 4010 on 127.0.0.1', () => {
    expect(parseBinArgs([], {})).toEqual({
      port: defaultBinPort,
      host: '127.0.0.1',
      help: false,
      writeEnv: undefined,
      announceTtl: false,
    });
    expect(defaultBinPort).toBe(4010);
  });

  it('takes PORT from the environment, and --port over it', () => {
    expect(parseBinArgs([], { PORT: '5000' }).port).toBe(5000);
    expect(parseBinArgs(['--port', '6000'], { PORT: '5000' }).port).toBe(6000);
    expect(parseBinArgs(['--port=0'], {}).port).toBe(0);
    expect(parseBinArgs(['-p', '7000', '--host', '0.0.0.0'], {})).toMatchObject({
      port: 7000,
      host: '0.0.0.0',
    });
  });

  it('takes a token lifetime, whether logins announce it, and how often to revoke every token', () => {
    expect(
      parseBinArgs(['--token-ttl-ms', '6000', '--announce-ttl', '--revoke-every-ms=20000'], {}),
    ).toMatchObject({ tokenTtlMs: 6000, announceTtl: true, revokeEveryMs: 20_000 });
    for (const bad of ['0', '-5', '1.5', '6s', '']) {
      expect(() => parseBinArgs(['--token-ttl-ms', bad], {})).toThrow(/--token-ttl-ms/);
    }
    expect(() => parseBinArgs(['--revoke-every-ms'], {})).toThrow(/needs a value/);
  });

  it('rejects bad ports and unknown arguments', () => {
    expect(() => parseBinArgs(['--port', 'abc'], {})).toThrow(/port number/);
    expect(() => parseBinArgs(['--port'], {})).toThrow(/needs a value/);
    expect(() => parseBinArgs([], { PORT: '70000' })).toThrow(/PORT/);
    expect(() => parseBinArgs(['--verbose'], {})).toThrow(/unknown argument/);
    expect(() => parseBinArgs(['--write-env'], {})).toThrow(/--write-env needs a value/);
  });

  it('takes --write-env PATH and --write-env=PATH', () => {
    expect(parseBinArgs(['--write-env', '.env'], {}).writeEnv).toBe('.env');
    expect(parseBinArgs(['--write-env=app/.env', '-p', '0'], {})).toMatchObject({
      writeEnv: 'app/.env',
      port: 0,
    });
  });

  it('prints the base URL, demo credentials and an API_* env block', () => {
    const banner = formatBanner('http://127.0.0.1:4010/api');
    expect(banner).toContain('listening on http://127.0.0.1:4010/api');
    expect(banner).toContain('OpenAPI document: http://127.0.0.1:4010/api/openapi.json');
    expect(banner).toContain('API_BASE_URL=http://127.0.0.1:4010/api');
    expect(banner).toContain('API_EMAIL=demo@example.com');
    expect(banner).toContain('API_PASSWORD=demo-password');
    expect(banner).toContain('API_ORG_ID=1');
    expect(banner).toContain('API_KEY=demo-api-key');
  });

  it('tells how to load the variables into an app, since nothing reads .env by itself', () => {
    const banner = formatBanner('http://127.0.0.1:4010/api');
    expect(banner).toContain('tokenfetch-mock --write-env .env');
    expect(banner).toContain('node --env-file=.env app.js');
  });

  it('with --write-env, names the file and prints neither the password nor the API key', () => {
    const banner = formatBanner('http://127.0.0.1:4010/api', 'app/.env');
    expect(banner).toContain('Wrote app/.env (mode 0600)');
    expect(banner).toContain('node --env-file=app/.env app.js');
    expect(banner).toContain('npx tsx --env-file=app/.env app.ts');
    expect(banner).toContain(demoUser.email);
    expect(banner).not.toContain(demoUser.password);
    expect(banner).not.toContain(demoApiKey);
  });
});

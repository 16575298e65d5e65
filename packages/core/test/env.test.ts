import { inspect } from 'node:util';
import { EnvHttpProxyAgent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_API_KEY, DEMO_USER } from '@tokenfetch/mock-upstream';
import {
  ConfigError,
  createApiClient,
  loadOptionsFromEnv,
  type ConfigIssue,
} from '../src/index.js';
import { startMock, track } from './helpers.js';

const session = {
  API_BASE_URL: 'https://acme.resolver.com/api',
  API_EMAIL: DEMO_USER.email,
  API_PASSWORD: DEMO_USER.password,
  API_ORG_ID: '1',
};

function envIssues(env: Record<string, string | undefined>, prefix?: string): ConfigIssue[] {
  try {
    loadOptionsFromEnv(env, prefix === undefined ? {} : { prefix });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^invalid tokenfetch environment/);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

function thrownBy(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('loadOptionsFromEnv', () => {
  it('reads API_BASE_URL and the session variables into options that log in', async () => {
    const mock = await startMock();
    const options = loadOptionsFromEnv({ ...session, API_BASE_URL: mock.baseUrl });

    expect(options.baseUrl).toBe(mock.baseUrl);
    expect(options.auth).toMatchObject({ kind: 'session' });
    const client = track(createApiClient(options));
    expect((await client.fetch('/data')).status).toBe(200);
    expect(mock.stats.successfulLogins).toBe(1);
  });

  it('reads API_KEY and API_IMPERSONATE_USER_ID into API key auth', async () => {
    const mock = await startMock();
    const options = loadOptionsFromEnv({
      API_BASE_URL: mock.baseUrl,
      API_KEY: DEMO_API_KEY,
      API_IMPERSONATE_USER_ID: '1',
    });
    const client = track(createApiClient(options));

    const me = await client.json<{ id: number }>('/user/users/me');

    expect(me.id).toBe(1);
    expect(mock.stats.loginAttempts).toBe(0);
    expect(mock.requests[0]?.headers).toMatchObject({
      'x-api-key': DEMO_API_KEY,
      'impersonate-user-id': '1',
    });
  });

  it('reads process.env by default', () => {
    vi.stubEnv('API_BASE_URL', 'https://acme.resolver.com/api');
    vi.stubEnv('API_KEY', 'k-123');

    expect(loadOptionsFromEnv()).toMatchObject({
      baseUrl: 'https://acme.resolver.com/api',
      auth: { kind: 'apiKey' },
    });
  });

  it('a prefix selects other variables', () => {
    const options = loadOptionsFromEnv(
      { TF_BASE_URL: 'https://b.example/api', TF_KEY: 'k', API_BASE_URL: 'https://a.example' },
      { prefix: 'TF_' },
    );
    expect(options.baseUrl).toBe('https://b.example/api');

    expect(envIssues({ ...session }, 'TF_').map((issue) => issue.path)).toEqual([
      'TF_BASE_URL',
      'TF_EMAIL',
      'TF_PASSWORD',
      'TF_ORG_ID',
    ]);
  });

  it('reads API_TIMEOUT_MS and API_LOGIN_TIMEOUT_MS', () => {
    const options = loadOptionsFromEnv({
      ...session,
      API_TIMEOUT_MS: '5000',
      API_LOGIN_TIMEOUT_MS: ' 2000 ',
    });
    expect(options).toMatchObject({ timeoutMs: 5000, loginTimeoutMs: 2000 });
    expect(loadOptionsFromEnv(session)).not.toHaveProperty('timeoutMs');
  });

  it('empty strings count as unset', () => {
    const options = loadOptionsFromEnv({
      ...session,
      API_KEY: '',
      API_IMPERSONATE_USER_ID: '  ',
      API_TIMEOUT_MS: '',
    });
    expect(options.auth).toMatchObject({ kind: 'session' });
    expect(options).not.toHaveProperty('timeoutMs');

    expect(envIssues({ ...session, API_EMAIL: '', API_PASSWORD: ' ' })).toEqual([
      { path: 'API_EMAIL', message: 'required' },
      { path: 'API_PASSWORD', message: 'required' },
    ]);
  });

  it('both API_KEY and API_EMAIL set is an error naming the variables', () => {
    const issues = envIssues({ ...session, API_KEY: 'k' });

    expect(issues).toEqual([
      {
        path: 'API_KEY',
        message: 'set either API_KEY or API_EMAIL/API_PASSWORD/API_ORG_ID, not both',
      },
    ]);
  });

  it('an empty environment lists every required variable at once', () => {
    expect(envIssues({})).toEqual([
      { path: 'API_BASE_URL', message: 'required' },
      { path: 'API_EMAIL', message: 'required' },
      { path: 'API_PASSWORD', message: 'required' },
      { path: 'API_ORG_ID', message: 'required' },
    ]);
  });

  it('an API_ORG_ID that is not a number is a ConfigError naming the variable', () => {
    for (const value of ['acme', 'org-1', '4 2', '-3', '1.5']) {
      expect(envIssues({ ...session, API_ORG_ID: value })).toEqual([
        { path: 'API_ORG_ID', message: "must be the org's numeric id, e.g. 42" },
      ]);
    }
    // Surrounding blanks (a hand-edited .env) are not the mistake.
    expect(loadOptionsFromEnv({ ...session, API_ORG_ID: ' 42 ' }).auth).toMatchObject({
      identity: `${session.API_EMAIL}|42`,
    });
  });

  it('bad values are reported by the variable that holds them', () => {
    expect(envIssues({ ...session, API_TIMEOUT_MS: '5s', API_LOGIN_TIMEOUT_MS: '-1' })).toEqual([
      { path: 'API_TIMEOUT_MS', message: 'must be a whole number of milliseconds' },
      { path: 'API_LOGIN_TIMEOUT_MS', message: 'must be a whole number of milliseconds' },
    ]);
    expect(envIssues({ ...session, API_BASE_URL: 'http://acme.resolver.com/api' })).toEqual([
      expect.objectContaining({ path: 'API_BASE_URL' }),
    ]);
    expect(envIssues({ ...session, API_TIMEOUT_MS: '0' })).toEqual([
      { path: 'API_TIMEOUT_MS', message: 'must be a positive integer of milliseconds' },
    ]);
  });

  it('a missing variable and a bad one are reported in the same error', () => {
    expect(
      envIssues({
        API_BASE_URL: 'http://acme.resolver.com/api',
        API_EMAIL: 'a@b.c',
        API_ORG_ID: '1',
      }),
    ).toEqual([
      { path: 'API_PASSWORD', message: 'required' },
      expect.objectContaining({ path: 'API_BASE_URL' }),
    ]);
    expect(envIssues({ API_BASE_URL: 'ftp://x', API_KEY: 'k', API_EMAIL: 'a@b.c' })).toEqual([
      expect.objectContaining({ path: 'API_KEY' }),
      { path: 'API_BASE_URL', message: 'must be an absolute https URL' },
    ]);
  });

  it('a variable missing from process.env: the error says where they are read and how to load .env', () => {
    for (const name of ['API_BASE_URL', 'API_EMAIL', 'API_PASSWORD', 'API_ORG_ID', 'API_KEY']) {
      vi.stubEnv(name, '');
    }
    vi.stubEnv('API_BASE_URL', 'https://acme.resolver.com/api');
    vi.stubEnv('API_EMAIL', 'a@b.c');

    const error = thrownBy(() => loadOptionsFromEnv());
    expect(error.message).toBe(
      'invalid tokenfetch environment, read from process.env (nothing loads a .env file by itself: ' +
        'start with node --env-file=.env app.js, or npx tsx --env-file=.env app.ts):\n' +
        '  - API_PASSWORD: required\n' +
        '  - API_ORG_ID: required',
    );
  });

  it('no .env hint for an env object given, nor for a bad value with nothing missing', () => {
    expect(thrownBy(() => loadOptionsFromEnv({})).message).toMatch(
      /^invalid tokenfetch environment:\n {2}- API_BASE_URL: required\n/,
    );
    vi.stubEnv('API_BASE_URL', 'ftp://acme.resolver.com/api');
    vi.stubEnv('API_KEY', 'k-123');
    expect(thrownBy(() => loadOptionsFromEnv()).message).toBe(
      'invalid tokenfetch environment:\n  - API_BASE_URL: must be an absolute https URL',
    );
  });

  it('the error names variables, never their values', () => {
    let message = '';
    try {
      loadOptionsFromEnv({
        API_BASE_URL: 'ftp://x',
        API_PASSWORD: 'hunter2-secret',
        API_KEY: 'key-secret',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('API_KEY');
    expect(message).not.toContain('hunter2-secret');
    expect(message).not.toContain('key-secret');
  });

  it('HTTPS_PROXY or HTTP_PROXY, in either case, gives the options an EnvHttpProxyAgent', () => {
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
      const options = loadOptionsFromEnv({ ...session, [name]: 'http://proxy.internal:3128' });
      expect(options.dispatcher, name).toBeInstanceOf(EnvHttpProxyAgent);
    }
    expect(loadOptionsFromEnv(session)).not.toHaveProperty('dispatcher');
    expect(loadOptionsFromEnv({ ...session, NO_PROXY: 'example.com' })).not.toHaveProperty(
      'dispatcher',
    );
    expect(loadOptionsFromEnv({ ...session, HTTPS_PROXY: ' ', http_proxy: '' })).not.toHaveProperty(
      'dispatcher',
    );
  });

  it('reads the proxy variables of the env given, not those of process.env', () => {
    vi.stubEnv('HTTPS_PROXY', 'http://proxy.internal:3128');
    for (const [name, value] of Object.entries(session)) vi.stubEnv(name, value);

    expect(loadOptionsFromEnv(session)).not.toHaveProperty('dispatcher');
    expect(loadOptionsFromEnv()).toMatchObject({ dispatcher: expect.any(EnvHttpProxyAgent) });
  });

  it('a proxy variable that is not an http(s) URL is reported by its name, never its value', () => {
    let error: unknown;
    try {
      loadOptionsFromEnv({
        ...session,
        https_proxy: 'socks5://user:proxy-secret@proxy.internal:1080',
        HTTP_PROXY: 'user:proxy-secret@not a url',
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'https_proxy', message: 'must be the http:// or https:// URL of a proxy' },
      { path: 'HTTP_PROXY', message: 'must be the http:// or https:// URL of a proxy' },
    ]);
    expect(inspect(error, { depth: Infinity })).not.toContain('proxy-secret');
  });

  it('options with a proxy that carries a password print without it', () => {
    const options = loadOptionsFromEnv({
      ...session,
      HTTPS_PROXY: 'http://user:proxy-secret@proxy.internal:3128',
    });

    const printed = inspect(options, { depth: Infinity, showHidden: true });
    expect(printed).not.toContain('proxy-secret');
    expect(printed).not.toContain(Buffer.from('user:proxy-secret').toString('base64'));
    expect(JSON.stringify(options)).not.toContain('proxy-secret');
  });
});

import { describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  ConfigError,
  createApiClient,
  MemoryTokenStore,
  sessionTokenAuth,
  type ApiClientOptions,
  type ConfigIssue,
} from '../src/index.js';
import { parseOptions } from '../src/client/options.js';
import { demoAuth, track } from './helpers.js';

const base = { baseUrl: 'https://acme.resolver.com/api', auth: demoAuth };

/** The issues of the ConfigError `create` throws (fails if it throws anything else or nothing). */
function issuesOf(options: unknown): ConfigIssue[] {
  try {
    track(createApiClient(options as ApiClientOptions));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

function accepts(options: Partial<ApiClientOptions>): void {
  expect(() => track(createApiClient({ ...base, ...options }))).not.toThrow();
}

describe('bad configuration fails fast (guarantee 10)', () => {
  it('one ConfigError lists every problem with its field: baseUrl and auth.email at once', () => {
    let caught: unknown;
    try {
      createApiClient({
        baseUrl: 'ftp://acme.resolver.com/api',
        auth: { email: '', password: 'secret-pw', orgId: 1 },
        timeoutMs: -5,
      });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('E_CONFIG');
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: 'baseUrl', message: 'must be an absolute https URL' },
        { path: 'auth.email', message: 'required' },
        { path: 'timeoutMs', message: 'must be a positive integer of milliseconds' },
      ]),
    );
    expect(error.issues).toHaveLength(3);
    expect(error.message).toContain('baseUrl: must be an absolute https URL');
    expect(error.message).toContain('auth.email: required');
    expect(error.message).not.toContain('secret-pw');
  });

  it('missing baseUrl and auth are both reported as required', () => {
    expect(issuesOf({})).toEqual(
      expect.arrayContaining([
        { path: 'baseUrl', message: 'required' },
        { path: 'auth', message: 'required' },
      ]),
    );
  });

  it('options that are not an object are a ConfigError', () => {
    expect(issuesOf(undefined)).toEqual([{ path: 'options', message: 'must be an object' }]);
    expect(issuesOf('https://x')).toEqual([{ path: 'options', message: 'must be an object' }]);
  });

  it('every missing or empty credential field is listed', () => {
    expect(issuesOf({ ...base, auth: {} })).toEqual([
      { path: 'auth.email', message: 'required' },
      { path: 'auth.password', message: 'required' },
      { path: 'auth.orgId', message: 'required' },
    ]);
    expect(issuesOf({ ...base, auth: { email: '', password: '', orgId: '' } })).toEqual([
      { path: 'auth.email', message: 'required' },
      { path: 'auth.password', message: 'required' },
      { path: 'auth.orgId', message: 'required' },
    ]);
    expect(issuesOf({ ...base, auth: { ...demoAuth, orgId: 1.5 } })).toEqual([
      { path: 'auth.orgId', message: "must be the org's numeric id, e.g. 42" },
    ]);
    expect(issuesOf({ ...base, auth: { apiKey: '', impersonateUserId: '' } })).toEqual([
      { path: 'auth.apiKey', message: 'required' },
      { path: 'auth.impersonateUserId', message: 'must be a non-empty string or an integer' },
    ]);
  });

  it('an org id that is not a number is a ConfigError: the upstream’s selectedOrg is the org’s id', () => {
    for (const orgId of [
      'acme',
      'org-1',
      ' 42',
      '4 2',
      '0x2a',
      '-1',
      -1,
      1.5,
      Number.NaN,
      2 ** 60,
    ]) {
      expect(issuesOf({ ...base, auth: { ...demoAuth, orgId } })).toEqual([
        { path: 'auth.orgId', message: "must be the org's numeric id, e.g. 42" },
      ]);
      expect(() => sessionTokenAuth({ ...demoAuth, orgId })).toThrow(ConfigError);
      expect(() => sessionTokenAuth({ ...demoAuth, orgId })).toThrow(
        /orgId: must be the org's numeric id, e\.g\. 42/,
      );
    }
    for (const orgId of ['42', '0', 42, 0]) {
      expect(parseOptions({ ...base, auth: { ...demoAuth, orgId } }).auth).toMatchObject({
        identity: `${demoAuth.email}|${orgId}`,
      });
    }
  });

  it('unknown options are reported by name', () => {
    expect(issuesOf({ ...base, retries: 3, timeout: 5 })).toEqual([
      { path: 'retries', message: 'unknown option' },
      { path: 'timeout', message: 'unknown option' },
    ]);
    expect(issuesOf({ ...base, auth: { ...demoAuth, org: 1 } })).toEqual([
      { path: 'auth.org', message: 'unknown option' },
    ]);
  });

  it('plain http is allowed only to loopback hosts unless allowInsecureHttp', () => {
    for (const baseUrl of [
      'http://localhost:8080/api',
      'http://127.0.0.1/api',
      'http://[::1]:1/',
    ]) {
      accepts({ baseUrl });
    }
    expect(issuesOf({ ...base, baseUrl: 'http://acme.resolver.com/api' })).toEqual([
      {
        path: 'baseUrl',
        message:
          'must be an https URL (plain http only to loopback hosts, or set allowInsecureHttp)',
      },
    ]);
    expect(issuesOf({ ...base, baseUrl: 'http://localhost.evil.com/api' })).toHaveLength(1);
    accepts({ baseUrl: 'http://acme.internal/api', allowInsecureHttp: true });
  });

  it('an allowed origin follows the https rule of baseUrl: plain http only to loopback hosts, or with allowInsecureHttp', () => {
    accepts({ allowedOrigins: ['http://localhost:9000', 'http://127.0.0.1', 'http://[::1]:1'] });
    expect(
      issuesOf({
        ...base,
        allowedOrigins: ['https://files.example.com', 'http://files.example.com'],
      }),
    ).toEqual([
      {
        path: 'allowedOrigins.1',
        message:
          'must be an https origin (plain http only to loopback hosts, or set allowInsecureHttp)',
      },
    ]);
    accepts({ allowedOrigins: ['http://files.example.com'], allowInsecureHttp: true });
  });

  it('an allowed origin with a path is refused: the path would not narrow the trust', () => {
    expect(issuesOf({ ...base, allowedOrigins: ['https://cdn.example.com/tenant-a/'] })).toEqual([
      {
        path: 'allowedOrigins.0',
        message:
          'must be an origin only (scheme, host, port): a path is not honoured, every path of an allowed origin is trusted; remove it',
      },
    ]);
    for (const origin of [
      'https://cdn.example.com/?tenant=a',
      'https://cdn.example.com/#a',
      'https://user@cdn.example.com',
    ]) {
      expect(issuesOf({ ...base, allowedOrigins: [origin] })).toEqual([
        {
          path: 'allowedOrigins.0',
          message: 'must be an origin only, without user info, a query or a fragment',
        },
      ]);
    }
    for (const origin of ['ftp://cdn.example.com', 'cdn.example.com', '/files']) {
      expect(issuesOf({ ...base, allowedOrigins: [origin] })).toEqual([
        {
          path: 'allowedOrigins.0',
          message: 'must be an absolute https origin such as https://files.example.com',
        },
      ]);
    }
    accepts({ allowedOrigins: ['https://cdn.example.com/', 'https://cdn.example.com:8443'] });
  });

  it('a base URL that is not absolute, or carries user info, a query or a fragment, is refused', () => {
    expect(issuesOf({ ...base, baseUrl: '/api' })).toEqual([
      { path: 'baseUrl', message: 'must be an absolute https URL' },
    ]);
    expect(issuesOf({ ...base, baseUrl: 'https://u:p@acme.resolver.com/api' })).toEqual([
      { path: 'baseUrl', message: 'must not carry user info' },
    ]);
    expect(issuesOf({ ...base, baseUrl: 'https://acme.resolver.com/api?x=1' })).toEqual([
      { path: 'baseUrl', message: 'must not carry a query or a fragment' },
    ]);
  });

  const wrongTypes: Array<[field: string, value: unknown, message: RegExp]> = [
    ['baseUrl', 42, /must be a string/],
    ['auth', 'secret', /must be sessionTokenAuth\(\)/],
    ['timeoutMs', '1000', /positive integer of milliseconds/],
    ['timeoutMs', 1.5, /positive integer of milliseconds/],
    ['timeoutMs', 0, /positive integer of milliseconds/],
    ['timeoutMs', 2 ** 31, /below 2\^31/],
    ['loginTimeoutMs', -1, /positive integer of milliseconds/],
    ['refreshAheadMs', -1, /non-negative integer/],
    ['refreshAheadMs', '5', /non-negative integer/],
    ['reauthStatuses', 403, /an array of HTTP statuses/],
    ['reauthStatuses', [200], /HTTP status from 400 to 599/],
    ['loginRetries', 11, /integer from 0 to 10/],
    ['loginRetries', 'two', /integer from 0 to 10/],
    ['loginCooldownMs', 0, /positive integer of milliseconds/],
    ['store', {}, /must be a TokenStore/],
    ['allowedOrigins', 'https://a.example', /an array of origins/],
    ['allowedOrigins', [7], /must be a string/],
    ['allowInsecureHttp', 'yes', /must be a boolean/],
    ['headers', 5, /must be a Headers/],
    ['headers', { 'x-n': 1 }, /must be a Headers/],
    ['headers', [['a']], /must be a Headers/],
    ['fetch', 'fetch', /must be a function/],
    ['onEvent', {}, /must be a function/],
    ['now', 0, /must be a function/],
  ];

  for (const [field, value, message] of wrongTypes) {
    it(`${field}: ${JSON.stringify(value)} is reported on its field`, () => {
      const issues = issuesOf({ ...base, [field]: value });
      expect(issues.map((issue) => issue.path)).toContain(
        Array.isArray(value) && field !== 'headers' ? `${field}.0` : field,
      );
      expect(issues.map((issue) => issue.message).join('\n')).toMatch(message);
    });
  }

  it('all wrong fields at once give one ConfigError with one issue per field', () => {
    const issues = issuesOf({
      baseUrl: 'http://acme.resolver.com',
      auth: { email: 'a@b.c', password: 'pw' },
      timeoutMs: 'x',
      loginTimeoutMs: 0,
      refreshAheadMs: -1,
      reauthStatuses: [99],
      loginRetries: -1,
      loginCooldownMs: 1.5,
      store: null,
      allowedOrigins: ['not an origin'],
      allowInsecureHttp: 1,
      headers: 1,
      fetch: 1,
      onEvent: 1,
      now: 1,
    });
    expect(new Set(issues.map((issue) => issue.path))).toEqual(
      new Set([
        'baseUrl',
        'auth.orgId',
        'timeoutMs',
        'loginTimeoutMs',
        'refreshAheadMs',
        'reauthStatuses.0',
        'loginRetries',
        'loginCooldownMs',
        'store',
        'allowedOrigins.0',
        'allowInsecureHttp',
        'headers',
        'fetch',
        'onEvent',
        'now',
      ]),
    );
  });

  it('onEvent: an array holding a non-function is reported on onEvent', () => {
    expect(issuesOf({ ...base, onEvent: [() => {}, 'log'] })).toEqual([
      { path: 'onEvent', message: 'must be a function or an array of functions' },
    ]);
  });

  it('valid options of every kind are accepted, each as given', () => {
    const given = {
      timeoutMs: 1,
      loginTimeoutMs: 2 ** 31 - 1,
      refreshAheadMs: 0,
      reauthStatuses: [401, 403, 419],
      loginRetries: 0,
      loginCooldownMs: 1,
      store: new MemoryTokenStore(),
      allowedOrigins: ['https://files.acme.resolver.com', 'http://localhost:9000'],
      allowInsecureHttp: false,
      headers: new Headers({ 'user-agent': 'svc' }),
      fetch: globalThis.fetch,
      onEvent: () => {},
      now: Date.now,
      resourceTiming: true,
    } satisfies Partial<ApiClientOptions>;
    accepts(given);
    // What the client is built from: every value as given, none replaced by a default.
    const { auth, ...resolved } = parseOptions({ ...base, ...given });
    // timeoutGiven: timeoutMs was set, so it bounds calls on the caller's dispatcher too.
    expect(resolved).toEqual({ baseUrl: base.baseUrl, ...given, timeoutGiven: true });
    expect(auth).toMatchObject({
      kind: 'session',
      identity: `${demoAuth.email}|${demoAuth.orgId}`,
    });

    accepts({ headers: [['x-a', '1']] });
    expect(parseOptions({ ...base, headers: [['x-a', '1']] }).headers).toEqual([['x-a', '1']]);
    accepts({ onEvent: [() => {}, () => {}] });
    const listeners = [() => {}, () => {}];
    expect(parseOptions({ ...base, onEvent: listeners }).onEvent).toEqual(listeners);

    const byOrgString = { ...base, auth: { ...demoAuth, orgId: '42' } };
    accepts(byOrgString);
    expect(parseOptions(byOrgString).auth).toMatchObject({
      kind: 'session',
      identity: `${demoAuth.email}|42`,
    });
    const ownPath = sessionTokenAuth({ ...demoAuth, path: '/auth/login', ttlMs: 60_000 });
    accepts({ auth: ownPath });
    expect(parseOptions({ ...base, auth: ownPath }).auth).toBe(ownPath);
    for (const auth of [
      apiKeyAuth({ apiKey: 'k', impersonateUserId: 7 }),
      { apiKey: 'k', impersonateUserId: '7' },
    ]) {
      accepts({ auth });
      const strategy = parseOptions({ ...base, auth }).auth;
      expect(strategy.kind).toBe('apiKey');
      const headers = new Headers();
      if (strategy.kind === 'apiKey') strategy.apply(headers);
      expect(Object.fromEntries(headers)).toEqual({ 'x-api-key': 'k', 'impersonate-user-id': '7' });
    }
  });
});

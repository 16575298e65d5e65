import { inspect } from 'node:util';
import { DEMO_API_KEY, DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import type { MockUpstream } from '@tokenfetch/mock-upstream';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  ConfigError,
  createApiClient,
  CrossOriginError,
  loadOptionsFromEnv,
  type ApiClient,
  type ApiClientOptions,
} from '../src/index.js';
import {
  closeAfterTest,
  failOnUnhandledRejection,
  rejectionOf,
  startRecordingServer,
  type RecordingServer,
} from './hostile-helpers.js';

const sessionAuth = { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 };
const auths = {
  session: sessionAuth,
  'api key': { apiKey: DEMO_API_KEY },
  'apiKeyAuth() with impersonation': apiKeyAuth({ apiKey: DEMO_API_KEY, impersonateUserId: 1 }),
} as const;

let mock: MockUpstream;
let other: RecordingServer;

beforeEach(async () => {
  failOnUnhandledRejection();
  mock = closeAfterTest(await startMockUpstream());
  other = await startRecordingServer();
});

function clientWith(auth: ApiClientOptions['auth']): ApiClient {
  return closeAfterTest(createApiClient({ baseUrl: mock.baseUrl, auth, loginTimeoutMs: 2_000 }));
}

/** Every form guarantee 8 (docs/guarantees.md) refuses, against the mock at `/api` and a server on another port. */
function refusedInputs(): Array<[string, string | URL]> {
  const home = new URL(mock.origin);
  const otherHost = new URL(other.origin).host;
  const otherPort = new URL(other.origin).port;
  return [
    ['`..`', '../secret'],
    ['`..` after a leading slash', '/../secret'],
    ['`..` deeper in the path', 'data/1/../../../secret'],
    ['`..` at the end', 'data/..'],
    ['`%2e%2e`', '%2e%2e/secret'],
    ['`%2E%2e`', '/data/%2E%2e/%2e%2E/secret'],
    ['`.%2e`', '.%2e/secret'],
    ['`%2e.`', '%2e./secret'],
    ['`%2f`', 'data%2f..%2f..%2fsecret'],
    ['`%2F`', 'data/%2F/secret'],
    ['`%5c`', 'data%5c..%5csecret'],
    ['`%5C`', '%5C%5Cevil/secret'],
    ['a backslash', 'data\\..\\..\\secret'],
    ['a leading backslash', `\\\\${otherHost}/api/secret`],
    ['slash backslash', `/\\${otherHost}/api/secret`],
    ['protocol-relative `//host`', `//${otherHost}/api/secret`],
    ['protocol-relative `///host`', `///${otherHost}/api/secret`],
    ['user info on the base origin', `http://user:pass@${home.host}/api/data`],
    ['user only on the base origin', `http://user@${home.host}/api/data`],
    ['the base authority as user info', `${mock.origin}@${otherHost}/api/data`],
    ['a leading space', ' /data'],
    ['a leading tab', '\t/data'],
    ['a leading newline', '\n/data'],
    ['a leading NUL', '\u0000/data'],
    ['a trailing space', '/data '],
    ['a trailing CR/LF', '/data\r\n'],
    ['an embedded newline', '/da\nta'],
    ['an embedded DEL', '/da\u007fta'],
    ['a leading space before an absolute URL', ` ${mock.baseUrl}/data`],
    ['another origin', `${other.origin}/api/data`],
    ['another origin as a URL object', new URL(`${other.origin}/api/data`)],
    ['the same server by another host name', `http://localhost:${otherPort}/api/data`],
    ['https on the base host', `https://${home.host}/api/data`],
    ['the base origin outside the base path', `${mock.origin}/other`],
    ['a look-alike base path', `${mock.origin}/apix/data`],
    ['an absolute `..` out of the base path', `${mock.origin}/api/../secret`],
    ['an absolute `%2e%2e` out of the base path', `${mock.origin}/api/%2e%2E/secret`],
    ['an absolute encoded slash', `${mock.baseUrl}/data%2f..%2f..%2fsecret`],
    ['an absolute encoded backslash', new URL(`${mock.baseUrl}/data%5C..%5Csecret`)],
    ['a file URL', 'file:///etc/passwd'],
    ['a javascript URL', 'javascript:alert(1)'],
    ['a data URL', 'data:text/plain,hello'],
    ['an unparseable absolute URL', 'http://[::1/api'],
  ];
}

describe('URL forms of guarantee 8 through client.fetch', () => {
  for (const [authName, auth] of Object.entries(auths)) {
    it(`${authName}: every refused form is a CrossOriginError and nothing reaches any server`, async () => {
      const client = clientWith(auth);
      for (const [name, input] of refusedInputs()) {
        const error = await rejectionOf(
          client.fetch(input, { method: 'POST', body: 'payload', redirect: 'follow' }),
        );
        expect(error, name).toBeInstanceOf(CrossOriginError);
        expect((error as CrossOriginError).code, name).toBe('E_CROSS_ORIGIN');
        const viaJson = await rejectionOf(client.json(input));
        expect(viaJson, `${name} via json()`).toBeInstanceOf(CrossOriginError);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(other.connections).toBe(0);
      expect(mock.stats).toMatchObject({ loginAttempts: 0, calls: 0 });

      // The same client does reach the mock: the refusals above were not a broken setup.
      expect((await client.fetch('/data/1')).status).toBe(200);
      expect(mock.stats.calls).toBe(1);
    });
  }

  it('a caller-set Authorization header is an error, not an override (session auth)', async () => {
    const client = clientWith(sessionAuth);
    const attempts: HeadersInit[] = [
      { authorization: 'Bearer mine' },
      { Authorization: 'Bearer mine' },
      [['AUTHORIZATION', 'Bearer mine']],
      new Headers({ authorization: 'Bearer mine' }),
    ];
    for (const headers of attempts) {
      const error = await rejectionOf(client.fetch('/data', { headers }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { path: 'init.headers.authorization', message: 'is set by tokenfetch; remove it' },
      ]);
      expect((error as Error).message).not.toContain('mine');
    }
    expect(mock.stats).toMatchObject({ loginAttempts: 0, calls: 0 });
  });

  it('a caller-set API-key or impersonation header is an error, not an override', async () => {
    const client = clientWith(apiKeyAuth({ apiKey: DEMO_API_KEY, impersonateUserId: 1 }));
    for (const name of ['x-api-key', 'X-API-Key', 'impersonate-user-id']) {
      const error = await rejectionOf(client.fetch('/data', { headers: { [name]: 'mine' } }));
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues[0]?.path).toBe(`init.headers.${name.toLowerCase()}`);
    }
    expect(mock.stats.calls).toBe(0);
  });
});

describe('cross-origin redirects are returned, never followed (guarantee 8)', () => {
  const statuses = [301, 302, 303, 307, 308];

  for (const [authName, auth] of Object.entries(auths)) {
    for (const status of statuses) {
      it(`${authName}: ${status} to another origin goes back to the caller; the other origin receives nothing`, async () => {
        const client = clientWith(auth);
        const target = `${other.origin}/steal`;
        for (const init of [
          {},
          { method: 'POST', body: 'secret-body', headers: { 'content-type': 'text/plain' } },
          { method: 'PUT', body: new URLSearchParams({ a: 'secret-body' }), redirect: 'follow' },
        ] satisfies RequestInit[]) {
          const response = await client.fetch(
            `/redirect?to=${encodeURIComponent(target)}&status=${status}`,
            init,
          );
          expect(response.status).toBe(status);
          expect(response.headers.get('location')).toBe(target);
          await response.body?.cancel();
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(other.connections).toBe(0);
        expect(other.requests).toEqual([]);
        expect(mock.requests.map((request) => new URL(request.path, mock.origin).pathname)).toEqual(
          ['/api/redirect', '/api/redirect', '/api/redirect'],
        );
      });
    }
  }

  const escapes: Array<[string, (origin: string, port: string) => string]> = [
    ['protocol-relative', (_origin, port) => `//127.0.0.1:${port}/steal`],
    ['another host name for the same server', (_origin, port) => `http://localhost:${port}/steal`],
    ['the base origin outside the base path', (origin) => `${origin}/outside`],
    ['the base origin with user info', (origin) => origin.replace('://', '://u:p@') + '/api/data'],
    ['an encoded slash below the base path', (origin) => `${origin}/api/a%2f..%2f..%2foutside`],
  ];
  for (const [name, location] of escapes) {
    it(`a redirect to ${name} is returned, not followed`, async () => {
      const client = clientWith(sessionAuth);
      const target = location(mock.origin, new URL(other.origin).port);
      const response = await client.fetch(`/redirect?to=${encodeURIComponent(target)}&status=307`, {
        method: 'POST',
        body: 'secret-body',
      });
      expect(response.status).toBe(307);
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(other.connections).toBe(0);
      expect(mock.requests).toHaveLength(1);
    });
  }

  it('control: a redirect inside the base path is followed with credentials and body', async () => {
    const client = clientWith(sessionAuth);
    const response = await client.fetch(
      `/redirect?to=${encodeURIComponent(`${mock.baseUrl}/landing`)}&status=307`,
      { method: 'POST', body: 'kept', headers: { 'content-type': 'text/plain' } },
    );
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { path: string; body: unknown; method: string };
    expect(echo).toMatchObject({ path: '/api/landing', method: 'POST', body: 'kept' });
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${await client.getToken()}`);
  });
});

describe('options of the wrong type (guarantee 10)', () => {
  const marker = 'WRONG-7f3a9c';
  const markerNumber = 918_273_645;
  const valid: ApiClientOptions = {
    baseUrl: 'https://acme.resolver.com/api',
    auth: { email: 'me@acme.test', password: 'pw', orgId: 1 },
  };

  /** [field named in the error, options] */
  const cases: Array<[string, Record<string, unknown>]> = [
    ['baseUrl', { baseUrl: markerNumber }],
    ['baseUrl', { baseUrl: { href: marker } }],
    ['baseUrl', { baseUrl: `ftp://${marker}.test/api` }],
    ['baseUrl', { baseUrl: `http://${marker}.test/api` }],
    ['baseUrl', { baseUrl: `${marker}` }],
    ['auth', { auth: marker }],
    ['auth', { auth: markerNumber }],
    ['auth', { auth: null }],
    ['auth.email', { auth: { email: markerNumber, password: 'pw', orgId: 1 } }],
    ['auth.password', { auth: { email: 'me@acme.test', password: markerNumber, orgId: 1 } }],
    ['auth.orgId', { auth: { email: 'me@acme.test', password: 'pw', orgId: { marker } } }],
    ['auth.orgId', { auth: { email: 'me@acme.test', password: 'pw', orgId: 1.5 } }],
    ['auth.apiKey', { auth: { apiKey: markerNumber } }],
    ['auth.apiKey', { auth: { apiKey: `key\r\n${marker}` } }],
    ['auth.impersonateUserId', { auth: { apiKey: 'k', impersonateUserId: `7\n${marker}` } }],
    ['auth.impersonateUserId', { auth: { apiKey: 'k', impersonateUserId: { marker } } }],
    ['auth.extra', { auth: { apiKey: 'k', extra: marker } }],
    ['timeoutMs', { timeoutMs: marker }],
    ['timeoutMs', { timeoutMs: -markerNumber }],
    ['loginTimeoutMs', { loginTimeoutMs: marker }],
    ['loginTimeoutMs', { loginTimeoutMs: Number.NaN }],
    ['refreshAheadMs', { refreshAheadMs: marker }],
    ['refreshAheadMs', { refreshAheadMs: -markerNumber }],
    ['reauthStatuses', { reauthStatuses: marker }],
    ['reauthStatuses.1', { reauthStatuses: [401, marker] }],
    ['reauthStatuses.0', { reauthStatuses: [markerNumber] }],
    ['loginRetries', { loginRetries: marker }],
    ['loginRetries', { loginRetries: markerNumber }],
    ['loginCooldownMs', { loginCooldownMs: marker }],
    ['store', { store: marker }],
    ['store', { store: { get: marker } }],
    ['allowedOrigins', { allowedOrigins: marker }],
    ['allowedOrigins.0', { allowedOrigins: [markerNumber] }],
    ['allowedOrigins.0', { allowedOrigins: [marker] }],
    ['allowInsecureHttp', { allowInsecureHttp: marker }],
    ['headers', { headers: marker }],
    ['headers', { headers: { 'x-a': markerNumber } }],
    ['headers', { headers: { 'x-a': `line\n${marker}` } }],
    ['headers', { headers: [['bad name', marker]] }],
    ['headers.authorization', { headers: { authorization: `Bearer ${marker}` } }],
    ['fetch', { fetch: marker }],
    ['onEvent', { onEvent: marker }],
    ['now', { now: markerNumber }],
    [`${marker}Option`, { [`${marker}Option`]: 1 }],
  ];

  for (const [field, patch] of cases) {
    it(`${field}: ${inspect(Object.values(patch)[0], { breakLength: Infinity })} → ConfigError naming ${field}, never the value`, () => {
      const options = { ...valid, ...patch } as unknown as ApiClientOptions;
      let error: unknown;
      try {
        createApiClient(options);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const config = error as ConfigError;
      expect(config.code).toBe('E_CONFIG');
      expect(config.issues.map((issue) => issue.path)).toContain(field);
      expect(config.message).toContain(`${field}: `);
      const shown = [
        config.message,
        config.stack ?? '',
        JSON.stringify(config),
        inspect(config, { depth: 10 }),
      ].join('\n');
      // The field name may contain the marker (an unknown option is named); values never appear.
      const withoutField = shown.split(field).join('').toLowerCase();
      expect(withoutField).not.toContain(marker.toLowerCase());
      expect(withoutField).not.toContain(String(markerNumber));
    });
  }

  it('every wrong field at once: one ConfigError listing each of them', () => {
    const options = {
      baseUrl: markerNumber,
      auth: marker,
      timeoutMs: marker,
      loginTimeoutMs: marker,
      refreshAheadMs: marker,
      reauthStatuses: marker,
      loginRetries: marker,
      loginCooldownMs: marker,
      store: marker,
      allowedOrigins: marker,
      allowInsecureHttp: marker,
      headers: marker,
      fetch: marker,
      onEvent: marker,
      now: marker,
    };
    let error: unknown;
    try {
      createApiClient(options as unknown as ApiClientOptions);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(new Set((error as ConfigError).issues.map((issue) => issue.path))).toEqual(
      new Set(Object.keys(options)),
    );
    expect((error as ConfigError).message).not.toContain(marker);
  });

  it('apiKeyAuth() refuses what cannot be sent as a header, naming the field, never the value', () => {
    const cases: Array<[string, Parameters<typeof apiKeyAuth>[0]]> = [
      ['apiKey', { apiKey: `key\n${marker}` }],
      ['apiKey', { apiKey: `key\u0000${marker}` }],
      ['header', { apiKey: 'k', header: `bad name ${marker}` }],
      ['impersonateUserId', { apiKey: 'k', impersonateUserId: `7\r${marker}` }],
    ];
    for (const [field, options] of cases) {
      let error: unknown;
      try {
        apiKeyAuth(options);
      } catch (thrown) {
        error = thrown;
      }
      expect(error, field).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual([field]);
      expect(inspect(error, { depth: 10 })).not.toContain(marker);
    }
  });

  it('an API key from the environment that cannot be sent as a header names API_KEY', () => {
    let error: unknown;
    try {
      loadOptionsFromEnv({
        API_BASE_URL: 'https://acme.resolver.com/api',
        API_KEY: `a\nb${marker}`,
      });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['API_KEY']);
    expect((error as ConfigError).message).not.toContain(marker);
  });

  it('options that are not an object at all', () => {
    for (const options of [undefined, null, marker, markerNumber]) {
      let error: unknown;
      try {
        createApiClient(options as unknown as ApiClientOptions);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).not.toContain(marker);
    }
  });
});

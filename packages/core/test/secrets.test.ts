import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  apiKeyAuth,
  ClientClosedError,
  ConfigError,
  createApiClient,
  CrossOriginError,
  InvalidCredentialsError,
  InvalidResponseError,
  LoginFailedError,
  loadOptionsFromEnv,
  MemoryTokenStore,
  NoActiveOrgError,
  sessionTokenAuth,
  UpstreamError,
  type ApiClient,
  type ApiClientOptions,
  type StoredToken,
  type TokenFetchEvent,
  type TokenLease,
  type TokenStore,
} from '../src/index.js';
import { closeAfterTest, failOnUnhandledRejection, rejectionOf } from './hostile-helpers.js';

/** A secret no test output may contain, whole or in part. */
const canary = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

const email = 'canary.user@example.com';
const password = canary('pw');
const wrongPassword = canary('wrongpw');
const apiKey = canary('key');
const upstreamToken = canary('tok');

/** What the tests exposed: every text a user could print. */
let shown: string[];
let canaries: string[];
const events: TokenFetchEvent[] = [];
const onEvent = (event: TokenFetchEvent) => events.push(event);

/** Every way an error can be printed: message, stack, inspect (cause chain), JSON. */
function showError(error: unknown, depth = 0): void {
  show(error);
  if (error instanceof Error) {
    shown.push(error.message, error.stack ?? '', String(error));
    shown.push(inspect(error, { depth: 10, showHidden: true }));
    if (error.cause !== undefined && depth < 10) showError(error.cause, depth + 1);
  }
}

/** `util.inspect` (with and without custom inspection), `JSON.stringify` and `String`. */
function show(value: unknown): void {
  shown.push(inspect(value, { depth: 10 }));
  shown.push(inspect(value, { depth: 10, customInspect: false }));
  try {
    shown.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular: inspect above covers it.
  }
  shown.push(String(value));
}

/** No canary appears whole, nor any 10-character piece of one. */
function expectNoSecrets(): void {
  for (const event of events) show(event);
  for (const used of clients) show(used);
  const text = shown.join('\n');
  expect(text.length).toBeGreaterThan(0);
  for (const secret of canaries) {
    expect(text).not.toContain(secret);
    for (let i = 0; i + 10 <= secret.length; i++) {
      const piece = secret.slice(i, i + 10);
      if (text.includes(piece)) {
        throw new Error(
          `a piece of a secret was shown: …${piece}… in\n${excerptAround(text, piece)}`,
        );
      }
    }
  }
}

function excerptAround(text: string, piece: string): string {
  const at = text.indexOf(piece);
  return text.slice(Math.max(0, at - 200), at + 200);
}

async function mockWithCanaries(): Promise<MockUpstream> {
  return closeAfterTest(
    await startMockUpstream({
      users: [
        { email, password, orgs: [1] },
        { email: 'no-org@example.com', password, orgs: [] },
      ],
      apiKeys: [apiKey],
    }),
  );
}

/** Clients of the current test, shown again (after use) by `expectNoSecrets`. */
const clients: ApiClient[] = [];

function client(options: ApiClientOptions): ApiClient {
  const created = closeAfterTest(createApiClient({ onEvent, ...options }));
  clients.push(created);
  show(created);
  return created;
}

beforeEach(() => {
  failOnUnhandledRejection();
  shown = [];
  canaries = [password, wrongPassword, apiKey, upstreamToken];
  events.length = 0;
  clients.length = 0;
});

describe('secrets never print (guarantee 9)', () => {
  for (const via of ['{ email, password, orgId }', 'sessionTokenAuth()'] as const) {
    it(`login failures with the password given as ${via}`, async () => {
      const mock = await mockWithCanaries();
      const auth = (pw: string, orgId = 1, user = email) =>
        via === 'sessionTokenAuth()'
          ? sessionTokenAuth({ email: user, password: pw, orgId })
          : { email: user, password: pw, orgId };
      const base = { baseUrl: mock.baseUrl, loginRetries: 0, loginTimeoutMs: 300 };

      // 401, twice: the second is the remembered refusal.
      const wrong = client({ ...base, auth: auth(wrongPassword) });
      const refused = await rejectionOf(wrong.fetch('/data'));
      expect(refused).toBeInstanceOf(InvalidCredentialsError);
      showError(refused);
      showError(await rejectionOf(wrong.getToken()));

      // 404: no active org, and an org the user is not in.
      const noOrg = client({ ...base, auth: auth(password, 1, 'no-org@example.com') });
      const noActive = await rejectionOf(noOrg.getToken());
      expect(noActive).toBeInstanceOf(NoActiveOrgError);
      showError(noActive);
      showError(await rejectionOf(client({ ...base, auth: auth(password, 999) }).getToken()));

      // 5xx, a reset, a hang, a redirect.
      const right = client({ ...base, auth: auth(password) });
      mock.failNextLogins(500, 1);
      showError(await rejectionOf(right.getToken()));
      for (const answer of [
        'reset',
        'hang',
        { status: 302, headers: { location: '/x' } },
      ] as const) {
        mock.setLoginResponse(() => answer);
        const failed = await rejectionOf(right.fetch('/data', { method: 'POST', body: password }));
        expect(failed).toBeInstanceOf(LoginFailedError);
        showError(failed);
      }

      // Answers that are not a usable token, each holding the upstream's token.
      const badAnswers = [
        { body: JSON.stringify({ token: `${upstreamToken} and more` }) },
        { body: JSON.stringify({ token: `${upstreamToken}\r\nx-injected: 1` }) },
        { body: JSON.stringify({ data: { nested: upstreamToken } }) },
        { body: `{"token":"${upstreamToken}"` },
        { body: `${upstreamToken} ${upstreamToken}`, headers: { 'content-type': 'text/plain' } },
        { body: JSON.stringify([upstreamToken]) },
        { body: JSON.stringify({ token: upstreamToken, padding: 'x'.repeat(70_000) }) },
      ];
      for (const answer of badAnswers) {
        mock.setLoginResponse(() => answer);
        const failed = await rejectionOf(right.getToken());
        expect(failed).toBeInstanceOf(LoginFailedError);
        showError(failed);
      }
      await right.close();
      showError(await rejectionOf(right.fetch('/data')));

      expect(events.filter((event) => event.type === 'login_failed').length).toBeGreaterThan(5);
      expectNoSecrets();
    });
  }

  it('a token issued by the upstream, through re-auth, replays and UpstreamErrors', async () => {
    const mock = await mockWithCanaries();
    const issued: string[] = [];
    mock.setLoginResponse((request) => {
      const token = request.issueToken();
      issued.push(token);
      return { body: JSON.stringify({ token }) };
    });
    const api = client({ baseUrl: mock.baseUrl, auth: { email, password, orgId: 1 } });

    expect((await api.fetch('/data')).status).toBe(200);
    mock.revokeTokens();
    expect((await api.fetch('/data', { method: 'POST', body: 'x' })).status).toBe(200);
    for (const path of ['/status/500', '/status/403', '/status/401', '/status/404']) {
      const failed = await rejectionOf(api.json(path));
      expect(failed).toBeInstanceOf(UpstreamError);
      showError(failed);
    }
    const badShape = await rejectionOf(api.json('/data', { schema: z.object({ id: z.number() }) }));
    expect(badShape).toBeInstanceOf(InvalidResponseError);
    showError(badShape);

    // An upstream that hands out a token it then refuses: re-login, replay, the 403 returned.
    mock.setLoginResponse(() => ({ body: JSON.stringify({ token: upstreamToken }) }));
    mock.revokeTokens();
    const refused = await api.fetch('/data', { method: 'PUT', body: 'y' });
    expect(refused.status).toBe(403);
    showError(await rejectionOf(api.json('/data')));

    expect(issued.length).toBeGreaterThanOrEqual(3);
    canaries.push(...issued);
    expect(events.some((event) => event.type === 'reauth')).toBe(true);
    expectNoSecrets();
  });

  describe('an upstream that echoes credentials in its error answers', () => {
    let echo: { baseUrl: string };
    const echoToken = canary('echotok');

    beforeEach(async () => {
      canaries.push(echoToken);
      let loginBody = '';
      const server = createServer((req, res) => {
        void readAll(req).then((body) => {
          const url = new URL(req.url ?? '/', 'http://echo.invalid');
          if (url.pathname === '/api/user/authenticate') {
            loginBody = body;
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ token: echoToken }));
            return;
          }
          if (url.pathname === '/api/reset') {
            req.socket.destroy();
            return;
          }
          if (url.pathname === '/api/ok-but-not-json') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(`oops ${echoToken} ${apiKey} ${password}`);
            return;
          }
          const credential =
            /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ??
            String(req.headers['x-api-key']);
          const padding = 'x'.repeat(Number(url.searchParams.get('pad') ?? 0));
          res.writeHead(Number(url.searchParams.get('status') ?? 500), {
            'content-type': 'application/json',
            'x-echo': credential,
          });
          res.end(
            `${padding}${credential} ${JSON.stringify({ headers: req.headers, credential, body, loginBody })}`,
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      closeAfterTest({
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      });
      echo = { baseUrl: `http://127.0.0.1:${port}/api` };
    });

    for (const kind of ['session', 'api key'] as const) {
      it(`${kind}: UpstreamError excerpts never hold the credential, whole or cut at the excerpt's end`, async () => {
        const api = client({
          baseUrl: echo.baseUrl,
          auth: kind === 'session' ? { email, password, orgId: 1 } : apiKeyAuth({ apiKey }),
        });
        // The credential starts at every offset around the 300-character excerpt limit.
        for (let pad = 250; pad <= 305; pad++) {
          for (const status of [400, 500]) {
            const failed = await rejectionOf(
              api.json(`/data?pad=${pad}&status=${status}`, { method: 'POST', body: 'payload' }),
            );
            expect(failed).toBeInstanceOf(UpstreamError);
            expect((failed as UpstreamError).body.length).toBeGreaterThan(0);
            showError(failed);
          }
        }
        const notJson = await rejectionOf(api.json('/ok-but-not-json'));
        expect(notJson).toBeInstanceOf(InvalidResponseError);
        showError(notJson);
        showError(await rejectionOf(api.fetch('/reset')));
        expectNoSecrets();
      });
    }
  });

  describe('an upstream that echoes credentials encoded in its error answers', () => {
    // Secrets with every character an encoding changes: quote, backslash, slash, non-ASCII
    // (one outside the BMP), plus, space, ampersand, equals, percent.
    const trickyPassword = `pw"\\/ä😀+ &=%${randomBytes(8).toString('hex')}`;
    const trickyToken = `tok"\\/+%=${randomBytes(8).toString('hex')}`;
    const trickyKey = `key"\\/+%=${randomBytes(8).toString('hex')}`;
    const pair = `${email}:${trickyPassword}`;
    const hex4 = (unit: number) => unit.toString(16).padStart(4, '0');
    const jsonInner = (value: string) => JSON.stringify(value).slice(1, -1);

    /** How an upstream may write what it was sent into its error body. */
    const forms: Array<[string, (secret: string) => string]> = [
      ['raw', (secret) => secret],
      ['JSON-escaped (\\" and \\\\)', jsonInner],
      ['JSON with \\/ (PHP)', (secret) => jsonInner(secret).replace(/\//g, '\\/')],
      [
        'JSON with \\u escapes of non-ASCII (Python ensure_ascii)',
        (secret) =>
          jsonInner(secret).replace(/[^ -~]/g, (char) => `\\u${hex4(char.charCodeAt(0))}`),
      ],
      [
        'JSON with \\u escapes of ASCII punctuation too (\\u0022)',
        // Every UTF-16 unit but letters and digits, upper-case hex (`\\u0022`, `\\uD83D\\uDE00`).
        (secret) =>
          secret
            .split('')
            .map((unit) =>
              /[A-Za-z0-9]/.test(unit) ? unit : `\\u${hex4(unit.charCodeAt(0)).toUpperCase()}`,
            )
            .join(''),
      ],
      [
        'JSON-escaped twice (a JSON string inside a JSON string)',
        (secret) => jsonInner(jsonInner(secret)),
      ],
      ['URL-encoded (encodeURIComponent)', encodeURIComponent],
      [
        'URL-encoded with lower-case hex',
        (secret) => encodeURIComponent(secret).replace(/%[\dA-F]{2}/g, (hex) => hex.toLowerCase()),
      ],
      [
        'form-encoded (+ for a space)',
        (secret) => new URLSearchParams({ v: secret }).toString().slice(2),
      ],
      ['base64', (secret) => Buffer.from(secret).toString('base64')],
      ['base64url', (secret) => Buffer.from(secret).toString('base64url')],
      ['base64 inside a longer value', (secret) => Buffer.from(`x${secret}yz`).toString('base64')],
      [
        'base64url inside a longer value, in JSON with \\/',
        (secret) => jsonInner(Buffer.from(`xy${secret}`).toString('base64')).replace(/\//g, '\\/'),
      ],
    ];

    let echo: { baseUrl: string };

    beforeEach(async () => {
      canaries.push(trickyPassword, trickyToken, trickyKey);
      let loginPassword = '';
      const server = createServer((req, res) => {
        void readAll(req).then((body) => {
          const url = new URL(req.url ?? '/', 'http://echo.invalid');
          if (url.pathname === '/api/user/authenticate') {
            loginPassword = (JSON.parse(body) as { password: string }).password;
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ token: trickyToken }));
            return;
          }
          const secret = {
            password: loginPassword,
            pair: `${email}:${loginPassword}`,
            token: /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '',
            key: String(req.headers['x-api-key']),
          }[url.searchParams.get('secret') ?? ''];
          const encode = forms[Number(url.searchParams.get('form'))]![1];
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(`{"error":"bad request","sent":"${encode(secret ?? '')}","more":"details"}`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      closeAfterTest({
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      });
      echo = { baseUrl: `http://127.0.0.1:${port}/api` };
    });

    forms.forEach(([name, encode], form) => {
      it(`${name}: UpstreamError.body holds no form of the password, user:password, token or API key`, async () => {
        const session = client({
          baseUrl: echo.baseUrl,
          auth: { email, password: trickyPassword, orgId: 1 },
        });
        const keyed = client({ baseUrl: echo.baseUrl, auth: apiKeyAuth({ apiKey: trickyKey }) });
        const cases: Array<[ApiClient, string, string]> = [
          [session, 'password', trickyPassword],
          [session, 'pair', pair],
          [session, 'token', trickyToken],
          [keyed, 'key', trickyKey],
        ];
        for (const [api, secret, value] of cases) {
          const failed = await rejectionOf(api.json(`/data?form=${form}&secret=${secret}`));
          expect(failed).toBeInstanceOf(UpstreamError);
          const body = (failed as UpstreamError).body;
          const encoded = encode(value);
          expect(body, `${secret} as ${name}`).not.toContain(encoded);
          // Nor a piece of it: the start or the end of the encoded form.
          expect(body, `${secret} as ${name}`).not.toContain(encoded.slice(0, 12));
          expect(body, `${secret} as ${name}`).not.toContain(encoded.slice(-12));
          expect(body).toMatch(
            /^\{"error":"bad request","sent":".*\[redacted\].*","more":"details"\}$/,
          );
          showError(failed);
        }
        expectNoSecrets();
      });
    });
  });

  it('cross-origin refusals and configuration errors', async () => {
    const mock = await mockWithCanaries();
    const api = client({ baseUrl: mock.baseUrl, auth: apiKeyAuth({ apiKey }) });
    const session = client({ baseUrl: mock.baseUrl, auth: { email, password, orgId: 1 } });
    for (const input of [
      `https://user:${password}@evil.example/`,
      `${mock.origin.replace('://', `://u:${apiKey}@`)}/api/x`,
      `https://evil.example/?key=${apiKey}`,
      `//evil.example/${password}`,
      `../${password}`,
      ` ${apiKey}`,
    ]) {
      for (const caller of [api, session]) {
        const failed = await rejectionOf(caller.fetch(input));
        expect(failed).toBeInstanceOf(CrossOriginError);
        showError(failed);
      }
    }
    for (const [caller, header, value] of [
      [api, 'x-api-key', apiKey],
      [session, 'authorization', `Bearer ${upstreamToken}`],
    ] as const) {
      const failed = await rejectionOf(caller.fetch('/data', { headers: { [header]: value } }));
      expect(failed).toBeInstanceOf(ConfigError);
      showError(failed);
    }

    const badOptions: unknown[] = [
      { baseUrl: 'https://x.test', auth: { email, password, orgId: { no: 1 } } },
      { baseUrl: password, auth: { email, password, orgId: 1 } },
      { baseUrl: 'https://x.test', auth: { email, password: [password], orgId: 1 } },
      { baseUrl: 'https://x.test', auth: { apiKey, impersonateUserId: {} } },
      { baseUrl: 'https://x.test', auth: { apiKey: [apiKey] } },
      { baseUrl: 'https://x.test', auth: { apiKey, password } },
      { baseUrl: 'https://x.test', auth: apiKeyAuth({ apiKey }), timeoutMs: apiKey },
      { baseUrl: 'https://x.test', auth: apiKeyAuth({ apiKey }), headers: { 'x-api-key': apiKey } },
      {
        baseUrl: 'https://x.test',
        auth: sessionTokenAuth({ email, password, orgId: 1 }),
        headers: { authorization: `Bearer ${upstreamToken}` },
        allowedOrigins: [password],
      },
    ];
    for (const options of badOptions) {
      let error: unknown;
      try {
        createApiClient(options as ApiClientOptions);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      showError(error);
    }

    // An API key that cannot be a header value: fetch would quote it in its TypeError.
    const keyHead = canary('keyhead');
    const keyTail = canary('keytail');
    canaries.push(keyHead, keyTail);
    const unsendable = `${keyHead}\r\n${keyTail}`;
    const attempts: Array<() => Promise<unknown>> = [
      () => createApiClient({ baseUrl: mock.baseUrl, auth: { apiKey: unsendable } }).fetch('/x'),
      () =>
        createApiClient({ baseUrl: mock.baseUrl, auth: apiKeyAuth({ apiKey: unsendable }) }).fetch(
          '/x',
        ),
      () =>
        createApiClient(
          loadOptionsFromEnv({ API_BASE_URL: mock.baseUrl, API_KEY: unsendable }),
        ).fetch('/x'),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        await attempt();
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(Error);
      showError(error);
    }
    expect(mock.stats.calls).toBe(0);

    const badEnvs: Record<string, string>[] = [
      { API_BASE_URL: 'nope', API_EMAIL: email, API_PASSWORD: password, API_ORG_ID: '1' },
      { API_BASE_URL: 'https://x.test', API_PASSWORD: password, API_TIMEOUT_MS: 'soon' },
      { API_BASE_URL: 'https://x.test', API_KEY: apiKey, API_PASSWORD: password },
      { API_BASE_URL: `http://${apiKey}.example`, API_KEY: apiKey },
    ];
    for (const env of badEnvs) {
      let error: unknown;
      try {
        loadOptionsFromEnv(env);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      showError(error);
    }
    expectNoSecrets();
  });

  it('a token store that throws, quoting what it was given', async () => {
    const mock = await mockWithCanaries();
    const issued: string[] = [];
    mock.setLoginResponse((request) => {
      const token = request.issueToken();
      issued.push(token);
      return { body: JSON.stringify({ token }) };
    });
    const inner = new MemoryTokenStore();
    const quote = (value: unknown) => inspect(value, { depth: 5 });
    let gets = 0;
    const store: TokenStore = {
      get: (key) =>
        ++gets === 1 ? Promise.reject(new Error(`GET ${key} failed`)) : inner.get(key),
      acquire: (key) => inner.acquire(key),
      commit: (lease: TokenLease, token: Omit<StoredToken, 'generation'>) =>
        Promise.reject(new Error(`SET ${quote(lease)} ${quote(token)}: out of memory`)),
      release: (lease, failure) =>
        Promise.reject(new Error(`RELEASE ${quote(lease)} ${quote(failure)} failed`)),
      invalidate: (key, generation) => Promise.reject(new Error(`DEL ${key} ${generation} failed`)),
      getFailure: (key) => Promise.reject(new Error(`GET ${key}:failure failed`)),
    };
    const api = client({ baseUrl: mock.baseUrl, auth: { email, password, orgId: 1 }, store });
    expect((await api.fetch('/data')).status).toBe(200);
    mock.revokeTokens();
    expect((await api.fetch('/data')).status).toBe(200);
    mock.setLoginResponse(undefined);
    const wrong = client({
      baseUrl: mock.baseUrl,
      // Another user: the first one's login lock is stuck (its commit failed, no release).
      auth: { email: 'no-org@example.com', password: wrongPassword, orgId: 1 },
      store,
    });
    const refused = await rejectionOf(wrong.getToken());
    expect(refused).toBeInstanceOf(InvalidCredentialsError);
    showError(refused);

    canaries.push(...issued);
    expect(issued.length).toBe(2);
    expect(events.filter((event) => event.type === 'store_error').length).toBeGreaterThan(3);
    expectNoSecrets();
  });

  it('clients, options with strategies, env options and strategies print no secret', () => {
    const strategies = [
      sessionTokenAuth({ email, password, orgId: 7 }),
      apiKeyAuth({ apiKey }),
      apiKeyAuth({ apiKey, impersonateUserId: 42, header: 'x-custom-key' }),
    ];
    const fromEnv = [
      loadOptionsFromEnv({
        API_BASE_URL: 'https://acme.resolver.com/api',
        API_EMAIL: email,
        API_PASSWORD: password,
        API_ORG_ID: '7',
      }),
      loadOptionsFromEnv({ API_BASE_URL: 'https://acme.resolver.com/api', API_KEY: apiKey }),
      loadOptionsFromEnv(
        { TF_BASE_URL: 'https://acme.resolver.com/api', TF_KEY: apiKey },
        { prefix: 'TF_' },
      ),
    ];
    const options: ApiClientOptions[] = [
      ...strategies.map((auth) => ({ baseUrl: 'https://acme.resolver.com/api', auth })),
      ...fromEnv,
    ];
    for (const strategy of strategies) show(strategy);
    for (const option of options) {
      show(option);
      show(closeAfterTest(createApiClient(option)));
    }
    // The options still work: the secret is held, only hidden.
    expect(fromEnv[0]?.auth).toMatchObject({ kind: 'session' });
    expect(shown.some((text) => text.includes('SessionTokenAuth'))).toBe(true);
    expectNoSecrets();
  });

  it('closing and calls after close', async () => {
    const mock = await mockWithCanaries();
    const api = client({ baseUrl: mock.baseUrl, auth: { email, password, orgId: 1 } });
    await api.getToken();
    await api.close();
    for (const call of [() => api.getToken(), () => api.fetch('/data'), () => api.json('/data')]) {
      const failed = await rejectionOf(call());
      expect(failed).toBeInstanceOf(ClientClosedError);
      showError(failed);
    }
    expectNoSecrets();
  });
});

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => resolve(body));
    req.on('error', () => resolve(body));
  });
}

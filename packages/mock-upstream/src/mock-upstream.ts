import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  actingAs,
  carriesUnknownCredential,
  identifyCaller,
  impersonateUserId,
  oauthCaller,
} from './identify-caller.js';
import type { Caller } from './identify-caller.js';
import { checkLogin } from './login.js';
import type { MockLoginHook, MockLoginHookResult } from './login-hook.js';
import type { MockOAuthRejection, OAuthResourceServer } from './oauth-resource-server.js';
import { resolveOptions } from './resolve-options.js';
import type { MockUpstreamOptions } from './options.js';
import { readBody } from './read-body.js';
import { sendHtmlNotFound, sendJson } from './respond.js';
import { openApiDocument } from './openapi.js';
import { answerCall } from './routes.js';
import { TokenRegistry } from './token-registry.js';
import { WidgetStore } from './widget-store.js';

/** Counters of a {@link MockUpstream}; each read of `stats` is a fresh snapshot. */
export interface MockUpstreamStats {
  /** Requests to the login path, whatever their outcome. */
  loginAttempts: number;
  /** Logins answered 2xx with a token. */
  successfulLogins: number;
  /** Every request that is not to the login path nor a GET or HEAD of `openapi.json`. */
  calls: number;
  /**
   * Calls refused for their credentials: 403 (a session token or API key refused), and with
   * `oauth`, 401 or 403 for an OAuth token or its proof (not counting DPoP nonce challenges).
   */
  rejectedCalls: number;
  /**
   * Calls that carried a bearer token this server never issued, or an `x-api-key` it does
   * not know, whatever their outcome: a credential meant for another server. A revoked or
   * expired token of this server does not count.
   */
  unknownCredentialCalls: number;
  /**
   * Logins being processed right now (body read, delay, answer): a gauge, not a counter,
   * so `resetStats()` leaves it as it is.
   */
  inFlightLogins: number;
  /** The highest `inFlightLogins` since start, or since `resetStats()` (which restarts it from the logins still in flight). */
  maxConcurrentLogins: number;
  /** With `oauth`: calls accepted with an OAuth access token, bearer or DPoP. */
  oauthCalls: number;
  /** With `oauth`: of `oauthCalls`, those made with a DPoP proof. */
  dpopCalls: number;
  /** With `oauth`: OAuth calls refused, by reason (only the reasons that occurred). */
  oauthRejections: Partial<Record<MockOAuthRejection, number>>;
  /** With `oauth` and DPoP nonces: `401 use_dpop_nonce` challenges answered. */
  dpopNonceChallenges: number;
}

/** What an accepted OAuth call's access token said. */
export interface MockOAuthGrant {
  /** `client_id`. */
  clientId: string;
  /** `sub`: a user's id, or for client credentials the client's. */
  subject: string;
  scope: string[];
  audience: string[];
  /** Whether the call proved possession of the token's key (DPoP). */
  dpop: boolean;
}

/** A non-login request as the mock received it, credentials included. */
export interface MockRecordedRequest {
  method: string;
  /** The request target as received, query included. */
  path: string;
  /** All request headers with their real values (the echo route redacts, this does not). */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body text (`''` when none, too large or aborted). */
  body: string;
  /** The `impersonate-user-id` header as received (its first value), or `undefined`. */
  impersonateUserId: string | undefined;
  /**
   * Whom the call acted as, once authenticated; `undefined` when it was refused or its path
   * was outside the prefix.
   */
  actingAs: MockActingAs | undefined;
}

/** Whom an authenticated call acted as. */
export interface MockActingAs {
  /** How the call authenticated: a session token, an API key, or an OAuth access token. */
  credential: 'token' | 'api-key' | 'oauth';
  /**
   * The session token's user; for an API key the impersonated user, else the key's service
   * user (0 unless set); for an OAuth token the user whose id is its `sub`, else 0.
   */
  userId: number;
  /**
   * The org chosen at login for a session token, the key's org for an API key; for an
   * OAuth token its user's first org, else the first user's first org.
   */
  orgId: string | number;
  /** For an OAuth call, what its token said. */
  oauth?: MockOAuthGrant;
}

/** A running mock upstream. */
export interface MockUpstream {
  /** Base URL of the API, prefix included, no trailing slash: `http://127.0.0.1:PORT/api`. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Stops the server and destroys every open socket, so no test hangs on keep-alive. Idempotent. */
  close(): Promise<void>;
  /**
   * Makes every token issued so far invalid: later calls with them get 403. With `oauth`,
   * every OAuth access token accepted so far is refused too (401, reason `revoked`).
   */
  revokeTokens(): void;
  /**
   * With `oauth: { dpop: { nonce: true } }`: makes a new DPoP nonce current and returns it;
   * proofs with an earlier one get `401 use_dpop_nonce` and the new one in `DPoP-Nonce`.
   */
  rotateDpopNonce(): string;
  /**
   * The next `count` logins answer `status` with a small JSON error body and the given
   * headers, whatever their credentials. Calls queue up: `(500, 2)` then `(429, 1)` fails
   * three logins in that order.
   * @default count: 1
   * @example
   * ```ts
   * mock.failNextLogins(429, 1, { 'retry-after': '1' });
   * ```
   */
  failNextLogins(status: number, count?: number, headers?: Record<string, string>): void;
  /** Delays every login answer by `ms` (after its body is read). `0` turns it off. */
  setLoginDelay(ms: number): void;
  /**
   * Installs (or with `undefined` removes) a hook that may answer logins itself: a custom
   * answer, `'hang'` or `'reset'`. Returning `undefined` lets the built-in handler answer.
   * Queued `failNextLogins` answers come first.
   */
  setLoginResponse(hook: MockLoginHook | undefined): void;
  /** A snapshot of the counters. */
  readonly stats: MockUpstreamStats;
  /**
   * Zeroes the counters and clears `requests`. `inFlightLogins` is a gauge of logins being
   * served right now, so it is kept (zeroing it would let it go negative when they end), and
   * `maxConcurrentLogins` restarts from it.
   */
  resetStats(): void;
  /** The last 1000 non-login requests, oldest first (a copy). */
  readonly requests: MockRecordedRequest[];
}

const maxRecorded = 1000;

/**
 * Starts a real HTTP server with Resolver Core's session-token semantics:
 * `POST {prefix}/user/authenticate` issues tokens, every other call needs a bearer token
 * or an API key, else 403; `GET {prefix}/openapi.json` serves the OpenAPI 3.1 document.
 *
 * @example
 * ```ts
 * const mock = await startMockUpstream();
 * const client = createApiClient({
 *   baseUrl: mock.baseUrl,
 *   auth: { email: demoUser.email, password: demoUser.password, orgId: 1 },
 * });
 * // …
 * await mock.close();
 * ```
 */
export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const config = resolveOptions(options);
  const resourceServer =
    config.oauth === undefined
      ? undefined
      : // Loaded only when asked for: jose costs ~100 ms to import.
        new (await import('./oauth-resource-server.js')).OAuthResourceServer(
          config.oauth,
          config.now,
        );
  const tokens = new TokenRegistry(config.now);
  const widgets = new WidgetStore(config.now);
  const loginPath = `${config.prefix}/user/authenticate`;
  const documentPath = `${config.prefix}/openapi.json`;
  const document = openApiDocument(config.prefix);
  const stats: MockUpstreamStats = {
    loginAttempts: 0,
    successfulLogins: 0,
    calls: 0,
    rejectedCalls: 0,
    unknownCredentialCalls: 0,
    inFlightLogins: 0,
    maxConcurrentLogins: 0,
    oauthCalls: 0,
    dpopCalls: 0,
    oauthRejections: {},
    dpopNonceChallenges: 0,
  };
  let recorded: MockRecordedRequest[] = [];
  const queuedFailures: Array<{ status: number; headers: Record<string, string> }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let loginDelayMs = 0;
  let loginHook: MockLoginHook | undefined;
  let closing: Promise<void> | undefined;

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      timers.add(timer);
    });

  const isUnderPrefix = (pathname: string) =>
    pathname === config.prefix || pathname.startsWith(`${config.prefix}/`);

  async function handleLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.loginAttempts++;
    stats.inFlightLogins++;
    stats.maxConcurrentLogins = Math.max(stats.maxConcurrentLogins, stats.inFlightLogins);
    res.once('close', () => {
      stats.inFlightLogins--;
    });
    const body = await readBody(req);
    if (loginDelayMs > 0) await delay(loginDelayMs);
    if (res.destroyed) return;
    if (body.tooLarge) return sendJson(res, 413, { error: 'request body too large' });
    if (req.method !== 'POST') {
      return sendJson(res, 405, { error: 'login takes POST' }, { allow: 'POST' });
    }
    const failure = queuedFailures.shift();
    if (failure !== undefined) {
      const error = STATUS_CODES[failure.status] ?? 'Error';
      return sendJson(res, failure.status, { error }, failure.headers);
    }
    let issued = false;
    if (loginHook !== undefined) {
      const answer = await loginHook({
        method: req.method,
        path: req.url ?? '/',
        headers: req.headers,
        body: body.text,
        issueToken: (issueOptions) => {
          const outcome = checkLogin(body.text, config.users);
          const fallback = config.users[0];
          const [user, orgId] =
            outcome.status === 200 ? [outcome.user, outcome.orgId] : [fallback, fallback?.orgs[0]];
          if (user === undefined) throw new Error('the mock upstream has no users');
          issued = true;
          return tokens.issue(user, orgId ?? 1, issueOptions?.ttlMs ?? config.tokenTtlMs);
        },
      });
      if (answer !== undefined) {
        sendHookAnswer(res, answer);
        if (issued && typeof answer === 'object' && isSuccess(answer.status ?? 200)) {
          stats.successfulLogins++;
        }
        return;
      }
    }
    const outcome = checkLogin(body.text, config.users);
    if (outcome.status !== 200) return sendJson(res, outcome.status, { error: outcome.error });
    const token = tokens.issue(outcome.user, outcome.orgId, config.tokenTtlMs);
    stats.successfulLogins++;
    const expiresIn = Math.floor(config.tokenTtlMs / 1000);
    sendJson(res, 200, config.announceTtl ? { token, expiresIn } : { token });
  }

  async function handleCall(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    stats.calls++;
    const entry: MockRecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body: '',
      impersonateUserId: impersonateUserId(req.headers),
      actingAs: undefined,
    };
    // With `oauth`, a DPoP or JWT-shaped bearer token makes this an OAuth call.
    const oauth = resourceServer?.takes(req.headers.authorization) ? resourceServer : undefined;
    if (carriesUnknownCredential(req.headers, tokens, config.apiKeys, oauth !== undefined)) {
      stats.unknownCredentialCalls++;
    }
    recorded.push(entry);
    if (recorded.length > maxRecorded) recorded.shift();
    const body = await readBody(req);
    if (!body.tooLarge) entry.body = body.text;
    // Outside the API: what the web server in front of it answers (an HTML page), as a
    // base URL without its `/api` finds at the real upstream.
    if (!isUnderPrefix(url.pathname)) return sendHtmlNotFound(res, req.method, url.pathname);
    const caller = oauth
      ? await identifyOAuthCaller(oauth, req, res, url)
      : identifySessionOrKeyCaller(req, res);
    if (caller === undefined) return;
    entry.actingAs = recordedActingAs(caller);
    if (body.tooLarge) return sendJson(res, 413, { error: 'request body too large' });
    answerCall(res, {
      method: entry.method,
      url,
      subPath: url.pathname.slice(config.prefix.length),
      headers: req.headers,
      body: body.text,
      caller,
      widgets,
    });
  }

  /** The caller of a session-token or API-key call; else answers 403 and returns undefined. */
  function identifySessionOrKeyCaller(req: IncomingMessage, res: ServerResponse) {
    const identified = identifyCaller(req.headers, tokens, config.apiKeys, config.users);
    if (identified.ok) return identified.caller;
    stats.rejectedCalls++;
    sendJson(res, 403, { error: identified.error });
    return undefined;
  }

  /** The caller of an OAuth call; else answers the refusal or nonce challenge and returns undefined. */
  async function identifyOAuthCaller(
    oauth: OAuthResourceServer,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ) {
    // DPoP's htu is the URL the client addressed: its Host, the path without the query.
    const host = req.headers.host ?? new URL(origin).host;
    const outcome = await oauth.authenticate(
      req.method ?? 'GET',
      new URL(url.pathname, `http://${host}`),
      req.headers,
    );
    if (outcome.ok) {
      stats.oauthCalls++;
      if (outcome.dpop) stats.dpopCalls++;
      return oauthCaller(outcome.token, outcome.dpop, config.users);
    }
    if (outcome.reason === 'use_dpop_nonce') {
      stats.dpopNonceChallenges++;
    } else {
      stats.rejectedCalls++;
      stats.oauthRejections[outcome.reason] = (stats.oauthRejections[outcome.reason] ?? 0) + 1;
      if (outcome.foreign) stats.unknownCredentialCalls++;
    }
    sendJson(res, outcome.status, outcome.body, outcome.headers);
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseTarget(req.url ?? '/');
    if (url === undefined) {
      stats.calls++;
      req.resume();
      return sendJson(res, 400, { error: 'malformed request target' });
    }
    if (url.pathname === loginPath) return handleLogin(req, res);
    if (url.pathname === documentPath && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      return sendJson(res, 200, document);
    }
    return handleCall(req, res, url);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // A client that went away mid-request, or a throwing hook: answer 500 if still possible.
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'mock upstream error' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {
    // Listening already succeeded; later server errors must not crash the test process.
  });

  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const origin = `http://${host}:${port}`;

  return {
    baseUrl: `${origin}${config.prefix}`,
    origin,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    revokeTokens() {
      tokens.revokeAll();
      resourceServer?.revokeSeen();
    },
    rotateDpopNonce() {
      if (resourceServer === undefined || config.oauth?.dpopNonce !== true) {
        throw new Error('rotateDpopNonce() needs the option oauth: { dpop: { nonce: true } }');
      }
      return resourceServer.rotateNonce();
    },
    failNextLogins(status, count = 1, headers = {}) {
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`status must be an integer from 200 to 599, got ${String(status)}`);
      }
      if (!Number.isInteger(count) || count < 0) {
        throw new RangeError(`count must be a non-negative integer, got ${String(count)}`);
      }
      for (let i = 0; i < count; i++) queuedFailures.push({ status, headers: { ...headers } });
    },
    setLoginDelay(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`delay must be a non-negative number, got ${String(ms)}`);
      }
      loginDelayMs = ms;
    },
    setLoginResponse(hook) {
      loginHook = hook;
    },
    get stats() {
      return { ...stats, oauthRejections: { ...stats.oauthRejections } };
    },
    resetStats() {
      Object.assign(stats, {
        loginAttempts: 0,
        successfulLogins: 0,
        calls: 0,
        rejectedCalls: 0,
        unknownCredentialCalls: 0,
        maxConcurrentLogins: stats.inFlightLogins,
        oauthCalls: 0,
        dpopCalls: 0,
        oauthRejections: {},
        dpopNonceChallenges: 0,
      });
      recorded = [];
    },
    get requests() {
      return recorded.map((entry) => ({
        ...entry,
        ...(entry.actingAs && { actingAs: copyActingAs(entry.actingAs) }),
      }));
    },
  };
}

/** What `requests` records of whom a call acted as. */
function recordedActingAs(caller: Caller): MockActingAs {
  const { credential, user, orgId } = actingAs(caller);
  if (caller.kind !== 'oauth') return { credential, userId: user.id, orgId };
  const { clientId, subject, scope, audience } = caller.token;
  const oauth = {
    clientId,
    subject,
    scope: [...scope],
    audience: [...audience],
    dpop: caller.dpop,
  };
  return { credential, userId: user.id, orgId, oauth };
}

function copyActingAs(acting: MockActingAs): MockActingAs {
  const { oauth, ...rest } = acting;
  if (oauth === undefined) return rest;
  return {
    ...rest,
    oauth: { ...oauth, scope: [...oauth.scope], audience: [...oauth.audience] },
  };
}

function sendHookAnswer(res: ServerResponse, answer: Exclude<MockLoginHookResult, undefined>) {
  if (answer === 'hang') return;
  if (answer === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...answer.headers };
  const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  if (!hasType) headers['content-type'] = 'application/json';
  res.writeHead(answer.status ?? 200, headers);
  res.end(answer.body ?? '');
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The request target as a URL; `//x` stays a path. Undefined when unparseable. */
function parseTarget(target: string): URL | undefined {
  try {
    return target.startsWith('/') ? new URL(`http://mock.invalid${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

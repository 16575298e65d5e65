import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  createApiClient,
  createTokenManager,
  CrossOriginError,
  InvalidCredentialsError,
  LoginFailedError,
  MemoryTokenStore,
  TokenFetchError,
  type LoginResult,
} from '../src/index.js';
import { createUrlScope, isInside, resolveUrl } from '../src/guards/resolve-url.js';
import {
  closeAfterTest,
  failOnUnhandledRejection,
  startRecordingServer,
} from './hostile-helpers.js';

const runs = { numRuns: 1_000 };

// ---------------------------------------------------------------------------------------
// Part a: URL resolution and the base-path guard (guarantee 8)
// ---------------------------------------------------------------------------------------

/** A path segment that needs no escaping, is never `.`/`..` and has no `:` (not a scheme). */
const segment = fc.stringMatching(/^[A-Za-z0-9_~@!$&'()*+,;=-][A-Za-z0-9._~@!$&'()*+,;=-]{0,9}$/);
const segments = (max: number) => fc.array(segment, { maxLength: max });
const query = fc.stringMatching(/^[a-z0-9]{1,5}=[a-z0-9.%/]{0,8}$/);

interface Base {
  /** As passed to the client: with or without a trailing slash. */
  baseUrl: string;
  origin: string;
  host: string;
  /** Path prefix segments; the base path is `/${prefix.join('/')}/` (or `/`). */
  prefix: string[];
  basePath: string;
}

const baseArb: fc.Arbitrary<Base> = fc
  .record({
    origin: fc.constantFrom(
      'https://api.example.com',
      'https://acme.resolver.com:8443',
      'http://127.0.0.1:3000',
      'http://localhost:8080',
    ),
    prefix: segments(3),
    trailingSlash: fc.boolean(),
  })
  .map(({ origin, prefix, trailingSlash }) => {
    const path = prefix.map((part) => `/${part}`).join('');
    return {
      baseUrl: `${origin}${path}${trailingSlash && path !== '' ? '/' : ''}`,
      origin,
      host: new URL(origin).host,
      prefix,
      basePath: `${path}/`,
    };
  });

/** Each dot raw or percent-encoded, in either case. */
const dot = fc.constantFrom('.', '%2e', '%2E');
const dotDot = fc.tuple(dot, dot).map(([a, b]) => a + b);
const encodedSeparator = fc.constantFrom('%2f', '%2F', '%5c', '%5C');
/**
 * A dot as a server behind a proxy may see it: raw, or percent-encoded once, twice (`%252e`,
 * a proxy and the server each decode) or three times.
 */
const deepDot = fc.constantFrom('.', '%2e', '%2E', '%252e', '%252E', '%25252e');
const deepDotSegment = fc.oneof(
  deepDot,
  fc.tuple(deepDot, deepDot).map(([a, b]) => a + b),
);
/** Path parameters, which Tomcat, Jetty and Spring cut before they match `..`. */
const pathParams = fc.stringMatching(/^;[a-z0-9=]{0,8}$/);
/** A `/` or `\` encoded once or more. */
const deepSeparator = fc.constantFrom('%252f', '%252F', '%255c', '%25255C', '%25252f');
const controlChar = fc
  .integer({ min: 0, max: 0x20 })
  .chain((code) => fc.constantFrom(String.fromCharCode(code), '\u007f'));
const nonSpaceControl = fc
  .integer({ min: 0, max: 0x1f })
  .map((code) => String.fromCharCode(code))
  .chain((char) => fc.constantFrom(char, '\u007f'));

/** Inserts `piece` at a position of `text` chosen by `at`. */
const insertAt = (text: string, piece: string, at: number) => {
  const index = at % (text.length + 1);
  return text.slice(0, index) + piece + text.slice(index);
};

/** A relative path of safe segments (leading slash or not), maybe with a query. */
const safeRelative = fc
  .record({
    parts: segments(4),
    leadingSlash: fc.boolean(),
    trailingSlash: fc.boolean(),
    query: fc.option(query, { nil: undefined }),
  })
  .map(({ parts, leadingSlash, trailingSlash, query: q }) => {
    const path = parts.join('/') + (trailingSlash && parts.length > 0 ? '/' : '');
    return {
      input: `${leadingSlash ? '/' : ''}${path}${q === undefined ? '' : `?${q}`}`,
      path,
      query: q,
    };
  });

type Hostile = { kind: string; input: string | URL };

/** An attack: given any base (or one with a path prefix), an input it must refuse. */
type Attack = fc.Arbitrary<(base: Base) => Hostile>;

const inside = (base: Base, path: string) => `${base.origin}${base.basePath}${path}`;
const maybeUrl = (url: string, asUrl: boolean) => (asUrl ? new URL(url) : url);

/**
 * `.`/`..` with `;params` (`..;/admin`), or encoded twice or more, as a segment of a
 * relative path or of an absolute URL on the base origin (forms the URL parser keeps).
 */
const dotSegmentWithParams: Attack = fc
  .tuple(
    segments(3),
    deepDotSegment,
    fc.option(pathParams, { nil: '' }),
    segments(3),
    fc.constantFrom('relative', 'absolute', 'URL'),
  )
  .filter(([, dots, params]) => params !== '' || dots.includes('%25'))
  .map(([before, dots, params, after, form]) => (base: Base) => {
    const path = [...before, dots + params, ...after].join('/');
    return {
      kind: `${form} dot segment with params or encoded twice`,
      input: form === 'relative' ? path : maybeUrl(inside(base, path), form === 'URL'),
    };
  });

/** A separator encoded twice or more, anywhere in the path, relative or absolute. */
const separatorEncodedTwice: Attack = fc
  .tuple(safeRelative, deepSeparator, fc.nat(), fc.constantFrom('relative', 'absolute', 'URL'))
  .map(([safe, separator, at, form]) => (base: Base) => {
    const path = insertAt(safe.path, separator, at);
    return {
      kind: `${form} separator encoded twice`,
      input: form === 'relative' ? path : maybeUrl(inside(base, path), form === 'URL'),
    };
  });

const anyBaseAttacks: Attack[] = [
  // `..` as a segment of a relative path, raw or encoded, anywhere.
  fc
    .tuple(segments(3), dotDot, segments(3), fc.boolean(), fc.option(query))
    .map(([before, dots, after, leading, q]) => () => ({
      kind: 'relative dot-dot',
      input: `${leading ? '/' : ''}${[...before, dots, ...after].join('/')}${q === null ? '' : `?${q}`}`,
    })),
  // An encoded `/` or `\` anywhere in the path of a relative input.
  fc.tuple(safeRelative, encodedSeparator, fc.nat()).map(([safe, separator, at]) => () => ({
    kind: 'relative encoded separator',
    input: insertAt(safe.path, separator, at),
  })),
  // A backslash anywhere in a relative input.
  fc.tuple(safeRelative, fc.nat()).map(([safe, at]) => () => ({
    kind: 'relative backslash',
    input: insertAt(safe.input, '\\', at),
  })),
  // Protocol-relative, with slashes or backslashes.
  fc
    .tuple(fc.constantFrom('//', '///', '\\\\', '/\\', '\\/'), fc.domain(), segments(2))
    .map(([lead, host, parts]) => () => ({
      kind: 'protocol-relative',
      input: `${lead}${host}/${parts.join('/')}`,
    })),
  // Whitespace or a control character leading or trailing a safe input, relative or absolute.
  fc
    .tuple(safeRelative, controlChar, fc.boolean(), fc.boolean())
    .map(([safe, char, leading, absolute]) => (base: Base) => {
      const text = absolute ? inside(base, safe.path) : safe.input;
      return {
        kind: 'leading or trailing whitespace/control',
        input: leading ? char + text : text + char,
      };
    }),
  // A control character (not a space) anywhere.
  fc
    .tuple(safeRelative, nonSpaceControl, fc.nat(), fc.boolean())
    .map(([safe, char, at, absolute]) => (base: Base) => ({
      kind: 'embedded control character',
      input: insertAt(absolute ? inside(base, safe.path) : safe.input, char, at),
    })),
  // Another origin: any web URL (the rare one on the base origin gets another port).
  fc
    .tuple(
      fc.webUrl({
        validSchemes: ['http', 'https'],
        withQueryParameters: true,
        withFragments: true,
      }),
      fc.boolean(),
    )
    .map(([raw, asUrl]) => (base: Base) => {
      const url = new URL(raw);
      if (url.origin === base.origin) url.port = '1';
      return { kind: 'other origin', input: maybeUrl(url.href, asUrl) };
    }),
  // The base host on another scheme or port, with the base path.
  fc
    .tuple(
      fc.constantFrom('http', 'https'),
      fc.integer({ min: 1, max: 65_535 }),
      safeRelative,
      fc.boolean(),
    )
    .map(([scheme, port, safe, asUrl]) => (base: Base) => {
      const url = new URL(`${scheme}://${new URL(base.origin).hostname}:${port}`);
      if (url.origin === base.origin) url.protocol = scheme === 'http' ? 'https' : 'http';
      url.pathname = `${base.basePath}${safe.path}`;
      return { kind: 'other port or scheme', input: maybeUrl(url.href, asUrl) };
    }),
  // User info on the base origin.
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{1,8}(:[a-z0-9]{0,8})?$/), safeRelative, fc.boolean())
    .map(([userinfo, safe, asUrl]) => (base: Base) => ({
      kind: 'user info',
      input: maybeUrl(
        `${base.origin.replace('://', `://${userinfo}@`)}${base.basePath}${safe.path}`,
        asUrl,
      ),
    })),
  // The base authority used as the user info of another host.
  fc.tuple(fc.domain(), safeRelative).map(([host, safe]) => (base: Base) => ({
    kind: 'base authority as user info',
    input: `${base.origin}@${host}${base.basePath}${safe.path}`,
  })),
  // Other schemes.
  fc
    .tuple(
      fc.constantFrom('javascript:', 'data:', 'file://', 'ftp://', 'ws://', 'blob:', 'mailto:'),
      safeRelative,
    )
    .map(([scheme, safe]) => (base: Base) => ({
      kind: 'other scheme',
      input: `${scheme}${base.host}/${safe.path}`,
    })),
  dotSegmentWithParams,
  separatorEncodedTwice,
  // An absolute URL on the base origin with an encoded separator below the base path.
  fc
    .tuple(safeRelative, encodedSeparator, fc.nat(), fc.boolean())
    .map(([safe, separator, at, asUrl]) => (base: Base) => ({
      kind: 'absolute encoded separator',
      input: maybeUrl(inside(base, insertAt(safe.path, separator, at)), asUrl),
    })),
];

const prefixedBaseAttacks: Attack[] = [
  // Enough `..` (raw or encoded, any case) to climb out of the base path.
  fc
    .tuple(
      fc.array(dotDot, { minLength: 5, maxLength: 5 }),
      fc.integer({ min: 0, max: 2 }),
      segments(2),
      fc.boolean(),
    )
    .map(([pool, extra, tail, asUrl]) => (base: Base) => {
      const climb = pool.slice(0, base.prefix.length + extra);
      // From the root, a tail that spells the base path again would land back inside.
      const [head, ...rest] = tail;
      const away = head === undefined ? [] : [head === base.prefix[0] ? `x${head}` : head, ...rest];
      return {
        kind: 'absolute dot-dot escape',
        input: maybeUrl(inside(base, [...climb, ...away].join('/')), asUrl),
      };
    }),
  // The base origin outside the base path, including look-alike prefixes.
  fc
    .tuple(fc.constantFrom('suffix', 'prefix', 'root'), segments(2))
    .map(([where, tail]) => (base: Base) => {
      const first = base.prefix[0] ?? '';
      const top = where === 'suffix' ? `${first}x` : where === 'prefix' ? `x${first}` : '';
      return {
        kind: 'same origin, outside the base path',
        input: `${base.origin}/${[top, ...tail].join('/')}`,
      };
    }),
];

/** A base and an input that must be refused against it. */
const hostileArb: fc.Arbitrary<[Base, Hostile]> = fc
  .oneof(
    fc.tuple(baseArb, fc.oneof(...anyBaseAttacks)),
    fc.tuple(
      baseArb.filter((base) => base.prefix.length > 0),
      fc.oneof(...prefixedBaseAttacks),
    ),
  )
  .map(([base, attack]) => [base, attack(base)]);

/** A base and a hostile path form the URL parser keeps as it is. */
const keptFormArb: fc.Arbitrary<[Base, Hostile]> = fc
  .tuple(baseArb, fc.oneof(dotSegmentWithParams, separatorEncodedTwice))
  .map(([base, attack]) => [base, attack(base)]);

/** A fetch that records every call and answers 200 (a login gets a token). */
function recordingFetch() {
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = (input) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push(url);
    const body = url.endsWith('/user/authenticate') ? '{"token":"tok-1"}' : 'ok';
    return Promise.resolve(
      new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
    );
  };
  return { calls, fetch };
}

describe('URL resolution under the base path (guarantee 8, properties)', () => {
  it('a relative path of safe segments resolves to the base path joined with it', () => {
    fc.assert(
      fc.property(baseArb, safeRelative, (base, safe) => {
        const scope = createUrlScope(base.baseUrl);
        const url = resolveUrl(scope, safe.input);
        const expected = `${base.origin}${base.basePath}${safe.path}${
          safe.query === undefined ? '' : `?${safe.query}`
        }`;
        expect(url.href).toBe(new URL(expected).href);
        expect(url.origin).toBe(base.origin);
        expect(url.pathname.startsWith(base.basePath)).toBe(true);
        // The same target, written as an absolute URL (string or URL object), is accepted as is.
        expect(resolveUrl(scope, url.href).href).toBe(url.href);
        expect(resolveUrl(scope, new URL(url.href)).href).toBe(url.href);
      }),
      runs,
    );
  });

  it('client.fetch sends a safe relative path to exactly the joined URL', async () => {
    await fc.assert(
      fc.asyncProperty(baseArb, safeRelative, async (base, safe) => {
        const { calls, fetch } = recordingFetch();
        const client = createApiClient({ baseUrl: base.baseUrl, auth: { apiKey: 'k' }, fetch });
        const response = await client.fetch(safe.input);
        await client.close();
        expect(response.status).toBe(200);
        const expected = `${base.origin}${base.basePath}${safe.path}${
          safe.query === undefined ? '' : `?${safe.query}`
        }`;
        expect(calls).toEqual([new URL(expected).href]);
      }),
      runs,
    );
  });

  it('every hostile input is refused with CrossOriginError by resolveUrl', () => {
    fc.assert(
      fc.property(hostileArb, ([base, hostile]) => {
        const scope = createUrlScope(base.baseUrl);
        let thrown: unknown;
        let resolved: URL | undefined;
        try {
          resolved = resolveUrl(scope, hostile.input);
        } catch (error) {
          thrown = error;
        }
        expect(
          resolved?.href,
          `${hostile.kind}: ${JSON.stringify(String(hostile.input))} was accepted`,
        ).toBeUndefined();
        expect(thrown).toBeInstanceOf(CrossOriginError);
        expect((thrown as CrossOriginError).code).toBe('E_CROSS_ORIGIN');
      }),
      runs,
    );
  });

  it('a same-origin redirect target is inside the base only if resolveUrl would accept it', () => {
    // Redirects are judged by isInside: a Location that a caller could not call directly
    // (`/api/..;/x`, `/api/%252e%252e/x`) is not followed with credentials.
    fc.assert(
      fc.property(keptFormArb, ([base, hostile]) => {
        const scope = createUrlScope(base.baseUrl);
        // As a Location header: absolute, or a path from the root.
        const location = String(hostile.input);
        const target = new URL(
          location.includes('://') ? location : `${base.basePath}${location}`,
          scope.base,
        );
        expect(
          isInside(scope, target),
          `${hostile.kind}: ${JSON.stringify(String(hostile.input))} counts as inside`,
        ).toBe(false);
      }),
      runs,
    );
  });

  it('client.fetch refuses every hostile input before any I/O (no login, no call)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileArb, fc.boolean(), async ([base, hostile], session) => {
        const { calls, fetch } = recordingFetch();
        const client = createApiClient({
          baseUrl: base.baseUrl,
          auth: session ? { email: 'a@b.c', password: 'p', orgId: 1 } : { apiKey: 'k' },
          fetch,
        });
        const outcome = await client.fetch(hostile.input, { method: 'POST', body: 'x' }).then(
          (response) => response,
          (error: unknown) => error,
        );
        await client.close();
        expect(outcome, `${hostile.kind}: ${String(hostile.input)}`).toBeInstanceOf(
          CrossOriginError,
        );
        expect(calls).toEqual([]);
      }),
      runs,
    );
  });

  it('a refused input reaches no real server: neither the base nor the other origin', async () => {
    const home = await startRecordingServer();
    const other = await startRecordingServer();
    const otherHost = new URL(other.origin).host;
    const client = closeAfterTest(
      createApiClient({
        baseUrl: `${home.origin}/api`,
        auth: { email: 'a@b.c', password: 'p', orgId: 1 },
        loginTimeoutMs: 200,
      }),
    );
    const inputs = [
      other.origin,
      `${other.origin}/api/data`,
      new URL(`${other.origin}/api/data`),
      `//${otherHost}/api/data`,
      `\\\\${otherHost}/api/data`,
      `/\\${otherHost}/api/data`,
      `${home.origin}@${otherHost}/api/data`,
      `${home.origin.replace('://', '://user:pw@')}/api/data`,
      `../x`,
      `%2e%2E/x`,
      `a/%2F..%2f..%2fx`,
      ` /data`,
      `/data\n`,
      `${home.origin}/other`,
      `${home.origin}/api/%2e%2e/x`,
    ];
    for (const input of inputs) {
      await expect(client.fetch(input, { method: 'PUT', body: 'payload' })).rejects.toBeInstanceOf(
        CrossOriginError,
      );
    }
    // Give any stray connection time to land before counting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(other.connections).toBe(0);
    expect(home.connections).toBe(0);
    expect(other.requests).toEqual([]);
    expect(home.requests).toEqual([]);

    // The recording servers do record: a legitimate call reaches the base server.
    const api = closeAfterTest(
      createApiClient({ baseUrl: `${home.origin}/api`, auth: { apiKey: 'k' } }),
    );
    expect((await api.fetch('/data')).status).toBe(200);
    expect(home.requests.map((request) => request.url)).toEqual(['/api/data']);
  });
});

// ---------------------------------------------------------------------------------------
// Part b: the token manager under random interleavings (behaviours 1, 2, 4, 6)
// ---------------------------------------------------------------------------------------

type Action =
  | { kind: 'get' }
  | { kind: 'invalidate-current' }
  | { kind: 'invalidate-stale'; pick: number }
  | { kind: 'advance'; ms: number };

type Outcome = { kind: 'ok'; lifetimeMs: number } | { kind: 'unavailable' } | { kind: 'refused' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'get' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'invalidate-current' as const }) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'invalidate-stale' as const, pick })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 200_000 }))
      .map((ms) => ({ kind: 'advance' as const, ms })),
  },
);

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .oneof(fc.integer({ min: 40, max: 4_000 }), fc.integer({ min: 4_000, max: 900_000 }))
      .map((lifetimeMs) => ({ kind: 'ok' as const, lifetimeMs })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'unavailable' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'refused' as const }) },
);

interface Waiter {
  /** Index of the action that created it. */
  startedAt: number;
  settled: boolean;
  value?: string;
  error?: unknown;
}

/**
 * Whether two waiters got the same result: the same token, or the same error. While a
 * failure other than a 401/404 refusal is remembered, each call fails with its own
 * LoginFailedError, whose retryAfterMs counts from that call (guarantee 6): two of them are
 * the same result when they carry the same remembered failure as `cause`, with the same
 * message, status and wait.
 */
function sameResult(a: Waiter, b: Waiter): boolean {
  if (a.error === b.error) return a.value === b.value;
  const [x, y] = [a.error, b.error];
  return (
    x instanceof LoginFailedError &&
    y instanceof LoginFailedError &&
    x.cause !== undefined &&
    x.cause === y.cause &&
    x.message === y.message &&
    x.status === y.status &&
    x.retryAfterMs === y.retryAfterMs
  );
}

/**
 * A case fast-check found in about one run of this test in twenty (its seed is random, so
 * the machine's load had no part in it): login #3 answers a 40 ms token after 30 ms. That
 * answer is late, not unusable (issue 22): the calls waiting for it get it, nothing is
 * remembered, and the two calls around the stale invalidation of tok-1 then share login #4.
 * Checked first on every run.
 */
const lateAnswerUsed: [fc.Scheduler, Action[], Outcome[], number, number, number] = [
  fc.schedulerFor()`
    -> [task${1}] sequence::{"kind":"get"} resolved
    -> [task${2}] sequence::{"kind":"get"} resolved
    -> [task${3}] promise::login #1: ok resolved
    -> [task${4}] sequence::{"kind":"invalidate-current"} resolved
    -> [task${5}] sequence::{"kind":"get"} resolved
    -> [task${7}] promise::login #2: ok resolved
    -> [task${6}] sequence::{"kind":"invalidate-current"} resolved
    -> [task${8}] sequence::{"kind":"invalidate-current"} resolved
    -> [task${9}] sequence::{"kind":"invalidate-stale","pick":0} resolved
    -> [task${10}] sequence::{"kind":"get"} resolved
    -> [task${12}] sequence::{"kind":"get"} resolved
    -> [task${13}] sequence::{"kind":"advance","ms":30} resolved
    -> [task${11}] promise::login #3: ok resolved
    -> [task${14}] sequence::{"kind":"invalidate-stale","pick":0} resolved
    -> [task${15}] promise::login #4: ok resolved`,
  [
    { kind: 'get' },
    { kind: 'get' },
    { kind: 'invalidate-current' },
    { kind: 'get' },
    { kind: 'invalidate-current' },
    { kind: 'invalidate-current' },
    { kind: 'invalidate-stale', pick: 0 },
    { kind: 'get' },
    { kind: 'get' },
    { kind: 'advance', ms: 30 },
    { kind: 'invalidate-stale', pick: 0 },
  ],
  [
    { kind: 'ok', lifetimeMs: 4_000 },
    { kind: 'ok', lifetimeMs: 4_000 },
    { kind: 'ok', lifetimeMs: 40 },
  ],
  0,
  1_000,
  0,
];

describe('the token manager under random interleavings (fc.scheduler)', () => {
  it('keeps its invariants: one login at a time, no expiring token, every waiter settles, stale invalidations and remembered refusals cause no login', async () => {
    failOnUnhandledRejection();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(actionArb, { minLength: 1, maxLength: 30 }),
        fc.array(outcomeArb, { maxLength: 12 }),
        fc.constantFrom(0, 1_000, 30_000, 120_000),
        fc.constantFrom(1_000, 30_000),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (s, actions, outcomes, refreshAheadMs, cooldownMs, randomValue) => {
          let time = 1_700_000_000_000;
          const now = () => time;
          const problems: string[] = [];
          const issued = new Map<
            string,
            { seq: number; expiresAt: number; lifetime: number; answeredAt: number }
          >();
          const invalidatedAt = new Map<string, number>();
          let logins = 0;
          let inFlight = 0;
          let refusedUntil = -Infinity;
          let newestReturned = 0;

          const login = (): Promise<LoginResult> => {
            const seq = ++logins;
            if (inFlight > 0) problems.push(`login #${seq} started while another was in flight`);
            if (time < refusedUntil) problems.push(`login #${seq} started during the cooldown`);
            inFlight++;
            const sentAt = time;
            const outcome = outcomes[seq - 1] ?? { kind: 'ok', lifetimeMs: 600_000 };
            return s.schedule(Promise.resolve(), `login #${seq}: ${outcome.kind}`).then(() => {
              inFlight--;
              if (outcome.kind === 'refused') {
                refusedUntil = time + cooldownMs;
                throw new InvalidCredentialsError();
              }
              if (outcome.kind === 'unavailable') {
                throw new LoginFailedError('login answered 503', { status: 503, retryable: true });
              }
              const token = `tok-${seq}`;
              issued.set(token, {
                seq,
                expiresAt: sentAt + outcome.lifetimeMs,
                lifetime: outcome.lifetimeMs,
                answeredAt: time,
              });
              return { token, expiresInMs: outcome.lifetimeMs };
            });
          };

          const manager = createTokenManager({
            login,
            ttlMs: 3_600_000,
            refreshAheadMs,
            loginTimeoutMs: 600_000,
            loginRetries: 0,
            loginCooldownMs: cooldownMs,
            store: new MemoryTokenStore({ now }),
            now,
            random: () => randomValue,
          });

          const waiters: Waiter[] = [];
          const pairs: Array<[Waiter, Waiter]> = [];
          const wait = (startedAt: number): Waiter => {
            const waiter: Waiter = { startedAt, settled: false };
            waiters.push(waiter);
            manager.getToken().then(
              (token) => {
                waiter.settled = true;
                waiter.value = token;
                const info = issued.get(token);
                if (info === undefined) {
                  problems.push(`returned ${token}, which no login issued`);
                  return;
                }
                const margin = Math.min(1_000, info.lifetime / 4);
                // A token whose own login answered after its last usable moment (late: the
                // clock ran on while it was in flight) goes to the calls waiting for it
                // (issue 22); any other is never handed out that close to its expiry.
                const late = info.answeredAt >= info.expiresAt - margin;
                if (time >= info.expiresAt - margin && !late) {
                  problems.push(
                    `returned ${token} at ${time - info.expiresAt} ms from its expiry (lifetime ${info.lifetime})`,
                  );
                }
                const invalidated = invalidatedAt.get(token);
                if (invalidated !== undefined && invalidated < startedAt) {
                  problems.push(`returned ${token} after it was invalidated`);
                }
                newestReturned = Math.max(newestReturned, info.seq);
              },
              (error: unknown) => {
                waiter.settled = true;
                waiter.error = error;
                if (!(
                  error instanceof InvalidCredentialsError || error instanceof LoginFailedError
                )) {
                  problems.push(`rejected with ${String(error)}`);
                }
              },
            );
            return waiter;
          };

          s.scheduleSequence(
            actions.map((action, index) => ({
              label: JSON.stringify(action),
              builder: () => {
                switch (action.kind) {
                  case 'get':
                    wait(index);
                    break;
                  case 'advance':
                    time += action.ms;
                    break;
                  case 'invalidate-current': {
                    const token = `tok-${newestReturned}`;
                    if (manager.invalidate(token)) {
                      invalidatedAt.set(token, index);
                      if (manager.invalidate(token)) {
                        problems.push(`${token} was invalidated twice`);
                      }
                    }
                    break;
                  }
                  case 'invalidate-stale': {
                    const stale = [...issued].filter(([, info]) => info.seq < newestReturned);
                    const picked = stale[action.pick % Math.max(1, stale.length)];
                    if (picked === undefined) break;
                    const before = wait(index);
                    const loginsBefore = logins;
                    if (manager.invalidate(picked[0])) {
                      problems.push(`invalidating the stale ${picked[0]} dropped a token`);
                    }
                    const after = wait(index + 0.5);
                    pairs.push([before, after]);
                    if (logins !== loginsBefore) problems.push('a stale invalidation logged in');
                    break;
                  }
                }
                return Promise.resolve();
              },
            })),
          );

          // Drain: every scheduled task, and whatever they schedule, until nothing is left.
          for (let round = 0; round < 20; round++) {
            await s.waitIdle();
            await new Promise((resolve) => setImmediate(resolve));
            if (s.count() === 0) break;
          }
          expect(s.count()).toBe(0);
          const unsettled = waiters.filter((waiter) => !waiter.settled);
          if (unsettled.length > 0) problems.push(`${unsettled.length} waiters never settled`);
          for (const [before, after] of pairs) {
            if (!sameResult(before, after)) {
              problems.push(
                `calls around a stale invalidation got different results: ${String(before.value ?? before.error)} vs ${String(after.value ?? after.error)}`,
              );
            }
          }

          manager.close();
          const closed = await manager.getToken().catch((error: unknown) => error);
          expect(closed).toBeInstanceOf(ClientClosedError);
          expect(
            problems,
            s
              .report()
              .map((task) => task.label)
              .join('\n'),
          ).toEqual([]);
          expect(
            waiters.every(
              (waiter) => waiter.error === undefined || waiter.error instanceof TokenFetchError,
            ),
          ).toBe(true);
        },
      ),
      { ...runs, examples: [lateAnswerUsed] },
    );
  });
});

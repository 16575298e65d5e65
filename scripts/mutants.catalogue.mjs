// The mutants of scripts/mutants.mjs: each removes one behaviour that a test must hold.
// `find` must occur exactly once in `file`; `replace` is what the mutant puts there; `tests`
// are the test files that must fail without the behaviour (keep them few: each mutant runs
// only these, and a test that runs core in a child process does not see the mutant). When
// code moves, update `find` here: a stale mutant fails the check.
const core = 'packages/core/src';
const tests = (...names) => names.map((name) => `packages/core/test/${name}.test.ts`);
const redisTests = (...names) => names.map((name) => `packages/redis/test/${name}.test.ts`);

/**
 * @type {{ id: string, behaviour: string, file: string, find: string, replace: string,
 *          tests: string[] }[]}
 */
export default [
  // shared: errors, events, aborts
  {
    id: 'shared/instanceof-by-code',
    behaviour: 'instanceof a subclass holds only for an error of that code (across copies)',
    file: `${core}/shared/errors.ts`,
    find: 'return code === undefined || (value as { code?: unknown }).code === code;',
    replace: 'return true;',
    tests: tests('errors'),
  },
  {
    id: 'shared/listener-throw-contained',
    behaviour: 'a listener that throws never breaks a call',
    file: `${core}/shared/events.ts`,
    find: `      try {
        const result = listener(event);
        // An async listener's rejection would otherwise be unhandled, and end the process.
        if (isThenable(result)) result.then(undefined, ignore);
      } catch {
        // A broken listener is the caller's bug; it must not fail a request.
      }`,
    replace: `      const result = listener(event);
      if (isThenable(result)) result.then(undefined, ignore);`,
    tests: tests('events'),
  },
  {
    id: 'shared/abort-detaches-caller',
    behaviour: "a caller's abort ends that caller's wait for the shared login",
    file: `${core}/shared/abort.ts`,
    find: 'const onAbort = () => reject(signal.reason as Error);',
    replace: 'const onAbort = () => {};',
    tests: tests('cancellation'),
  },

  // guards: where credentials may go, and redaction
  {
    id: 'guards/dot-segments',
    behaviour: 'a `.`/`..` segment (also encoded) may not leave the base path',
    file: `${core}/guards/resolve-url.ts`,
    find: "if (bare === '.' || bare === '..' || form.includes('/') || form.includes('\\\\')) return true;",
    replace: "if (form.includes('/') || form.includes('\\\\')) return true;",
    tests: tests('credentials', 'hostile-input'),
  },
  {
    id: 'guards/double-encoding',
    behaviour: 'a path is judged after each percent-decoding, not only the first',
    file: `${core}/guards/resolve-url.ts`,
    find: '      if (decoded === form) break;',
    replace: '      if (decoded === form || form !== segment) break;',
    tests: tests('hostile-input', 'redirects'),
  },
  {
    id: 'guards/semicolon-params',
    behaviour: '`..;` (a segment with ;params) is a way out too',
    file: `${core}/guards/resolve-url.ts`,
    find: 'const bare = semicolon === -1 ? form : form.slice(0, semicolon);',
    replace: 'const bare = form;',
    tests: tests('hostile-input', 'redirects'),
  },
  {
    id: 'guards/base-path',
    behaviour: 'a URL on the base origin outside the base path is not trusted',
    file: `${core}/guards/resolve-url.ts`,
    find: '((url.pathname.startsWith(scope.basePath) &&',
    replace: '((true &&',
    tests: tests('credentials', 'redirects'),
  },
  {
    id: 'guards/allowed-origins',
    behaviour: 'an origin in allowedOrigins receives the credentials',
    file: `${core}/guards/resolve-url.ts`,
    find: 'return isInside(scope, url) || scope.allowedOrigins.has(url.origin);',
    replace: 'return isInside(scope, url);',
    tests: tests('credentials'),
  },
  {
    id: 'guards/https-only',
    behaviour: 'plain http is refused for a host that is not loopback',
    file: `${core}/guards/secure-url.ts`,
    find: "return url.protocol === 'http:' && !allowInsecureHttp && !isLoopback(url.hostname);",
    replace: 'return false;',
    tests: tests('config'),
  },
  {
    id: 'guards/redact-base64',
    behaviour: 'a secret is redacted in base64 too (a Basic user:password)',
    file: `${core}/guards/redact.ts`,
    find: 'for (const core of base64Cores(secret)) collect(view, core, true, ranges);',
    replace: '',
    tests: tests('json', 'secrets'),
  },
  {
    id: 'guards/redact-percent',
    behaviour: 'a secret is redacted percent- or form-encoded too',
    file: `${core}/guards/redact.ts`,
    find: "if (text.includes('%') || text.includes('+')) {",
    replace: 'if (false) {',
    tests: tests('secrets'),
  },
  {
    id: 'guards/redact-json-escapes',
    behaviour: 'a secret is redacted inside JSON escapes too',
    file: `${core}/guards/redact.ts`,
    find: "for (let level = 0; level < 3 && json.text.includes('\\\\'); level++) {",
    replace: 'for (let level = 0; level < 0; level++) {',
    tests: tests('secrets'),
  },

  // transport
  {
    id: 'transport/timeout-ms',
    behaviour: 'timeoutMs ends a call whose answer hangs, at timeoutMs',
    file: `${core}/transport/undici-transport.ts`,
    find: 'const limit = call.timeoutMs ?? (call.dispatcher === undefined ? defaultLimit : callerLimit);',
    replace:
      'const limit = 10 * (call.timeoutMs ?? (call.dispatcher === undefined ? defaultLimit : callerLimit));',
    tests: tests('cancellation'),
  },
  {
    id: 'transport/close-ends-calls',
    behaviour: "close() ends the calls in flight on the client's own Agent",
    file: `${core}/transport/undici-transport.ts`,
    find: 'return own?.destroy(reason) ?? Promise.resolve();',
    replace: 'return Promise.resolve();',
    tests: tests('hostile-upstream'),
  },
  {
    id: 'transport/fetch-close-ends-calls',
    behaviour: 'close() ends the calls in flight through the fetch option',
    file: `${core}/transport/transport.ts`,
    find: `    close(reason) {
      life.abort(reason);`,
    replace: `    close(reason) {
      void reason;`,
    tests: tests('close'),
  },
  {
    id: 'transport/content-codings-limit',
    behaviour: 'more than 5 content codings are refused, as fetch refuses them',
    file: `${core}/transport/content-decoding.ts`,
    find: 'if (listed.length > maxCodings) {',
    replace: 'if (false) {',
    tests: tests('hostile-upstream'),
  },

  {
    id: 'transport/env-proxy-loopback-direct',
    behaviour: 'a loopback target never goes through a proxy from the environment',
    file: `${core}/transport/env-proxy.ts`,
    find: `    return onLoopback(options.origin)
      ? this.#direct.dispatch(options, handler)
      : super.dispatch(options, handler);`,
    replace: '    return super.dispatch(options, handler);',
    tests: tests('proxy'),
  },

  // engine: the token's life, single flight, the store protocol, cooldowns
  {
    id: 'engine/single-flight',
    behaviour: 'concurrent callers join the login in flight',
    file: `${core}/engine/token-manager.ts`,
    find: '    if (inflight !== undefined) {',
    replace: '    if (false) {',
    tests: tests('single-flight'),
  },
  {
    // Clearing it only if it still holds this promise (`inflight === promise`) cannot be
    // told apart today: the slot is refilled only once it is empty. That guard is kept for
    // the code of tomorrow, and has no mutant here.
    id: 'engine/slot-cleared',
    behaviour: 'a settled login frees the single-flight slot for the next one',
    file: `${core}/engine/token-manager.ts`,
    find: '    promise.then(clear, clear);',
    replace: '',
    tests: tests('reauth'),
  },
  {
    id: 'engine/invalidate-only-current',
    behaviour: 'a rejected token is dropped only if it is still the current one',
    file: `${core}/engine/token-manager.ts`,
    find: 'if (held === undefined || held.token !== token) return false;',
    replace: 'if (held === undefined) return false;',
    tests: tests('reauth'),
  },
  {
    id: 'engine/refresh-jitter',
    behaviour: 'each instance gives up random() × 10 % of its refresh window',
    file: `${core}/engine/token-manager.ts`,
    find: 'jitter: random() * 0.1,',
    replace: 'jitter: 0,',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/refresh-ahead',
    behaviour: 'a call in the refresh window starts one background refresh',
    file: `${core}/engine/token-manager.ts`,
    find: '      t >= held.refreshAt &&\n      inflight === undefined &&\n',
    replace: '      false &&\n      inflight === undefined &&\n',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/background-retry-wait',
    behaviour: 'after a background refresh the next one waits 2 s',
    file: `${core}/engine/token-manager.ts`,
    find: 'nextBackgroundAt = now() + backgroundRetryMs;',
    replace: '',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/background-failure-caught',
    behaviour: 'a failed background refresh is no unhandled rejection',
    file: `${core}/engine/token-manager.ts`,
    find: 'obtain(true).catch(() => {',
    replace: 'void obtain(true).then(() => {',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/close-aborts-life',
    behaviour: "the token manager's close() aborts its life signal (logins, lock waits)",
    file: `${core}/engine/token-manager.ts`,
    find: 'engine.life.abort(new ClientClosedError());',
    replace: '',
    tests: tests('close'),
  },
  {
    id: 'engine/last-usable-moment',
    behaviour: 'a token is not sent in its last second',
    file: `${core}/engine/token-lifetime.ts`,
    find: 'return expiresAt - Math.min(1_000, (expiresAt - issuedAt) / 4);',
    replace: 'return expiresAt;',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/refresh-window-cap',
    behaviour: 'the refresh window is at most a third of the lifetime',
    file: `${core}/engine/token-lifetime.ts`,
    find: 'Math.min(refreshAheadMs, lifetime / 3)',
    replace: 'refreshAheadMs',
    tests: tests('refresh-ahead'),
  },
  {
    id: 'engine/smallest-lifetime',
    behaviour: "a token's expiry is the smallest of ttlMs, the answer's and the JWT's",
    file: `${core}/engine/token-lifetime.ts`,
    find: 'const expiresAt = Math.min(...candidates);',
    replace: 'const expiresAt = Math.max(...candidates);',
    tests: tests('expiry'),
  },
  {
    id: 'engine/printable-token',
    behaviour: 'a token that is not printable ASCII without spaces is refused',
    file: `${core}/engine/token-lifetime.ts`,
    find: "if (typeof token !== 'string' || !safeToken.test(token)) {",
    replace: "if (typeof token !== 'string') {",
    tests: tests('hostile-login'),
  },
  {
    id: 'engine/login-retries',
    behaviour: 'a login is retried loginRetries times, no more',
    file: `${core}/engine/login-attempts.ts`,
    find: 'if (tries >= engine.loginRetries) return undefined;',
    replace: '',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/unretryable-not-retried',
    behaviour: 'a failure that may not be retried (400, an unusable answer) is not',
    file: `${core}/engine/login-attempts.ts`,
    find: 'if (!(failure instanceof LoginFailedError) || !failure.retryable) return undefined;',
    replace: 'if (!(failure instanceof LoginFailedError)) return undefined;',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/retry-after-in-login-cap',
    behaviour: 'a Retry-After over 5 s ends the login instead of being slept through',
    file: `${core}/engine/login-attempts.ts`,
    find: 'if (retryAfterMs > retryAfterCapMs) return undefined;',
    replace: '',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/login-timeout',
    behaviour: 'loginTimeoutMs ends a hanging login',
    file: `${core}/engine/login-attempts.ts`,
    find: `    loginTimeoutMs,
  );
  unrefTimer(timer);`,
    replace: `    100 * loginTimeoutMs,
  );
  unrefTimer(timer);`,
    tests: tests('cancellation'),
  },
  {
    id: 'engine/refusal-cooldown',
    behaviour: 'a 401/404 refusal is remembered for the cooldown',
    file: `${core}/engine/cooldown.ts`,
    find: 'shared = { code: failure.code, until: now + this.#cooldownMs };',
    replace: 'shared = undefined;',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/retry-after-cap',
    behaviour: 'a remembered Retry-After holds logins back 5 minutes at most',
    file: `${core}/engine/cooldown.ts`,
    find: 'Math.min(failure.retryAfterMs ?? 0, retryAfterMaxMs)',
    replace: '(failure.retryAfterMs ?? 0)',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/unusable-doubling',
    behaviour: 'the cooldown of unusable answers doubles with each one in a row',
    file: `${core}/engine/cooldown.ts`,
    find: 'unusableCooldownMs * 2 ** (this.#unusableInARow - 1)',
    replace: 'unusableCooldownMs',
    tests: tests('login-failures'),
  },
  {
    id: 'engine/rejected-generation',
    behaviour: 'a stored token of a rejected generation is not taken again',
    file: `${core}/engine/store-protocol.ts`,
    find: 'if (stored.generation <= engine.rejectedGeneration) return undefined;',
    replace: '',
    tests: tests('memory-store'),
  },
  {
    id: 'engine/reread-under-lock',
    behaviour: 'the holder of the login lock re-reads the store first',
    file: `${core}/engine/store-protocol.ts`,
    find: 'const adopted = again === storeDown ? undefined : adopt(engine, again, attempt);',
    replace: 'const adopted = again === storeDown ? undefined : undefined;',
    tests: tests('memory-store'),
  },
  {
    id: 'engine/shared-failure-obeyed',
    behaviour: 'a failure shared through the store is obeyed',
    file: `${core}/engine/store-protocol.ts`,
    find: 'if (shared !== storeDown && shared !== undefined && shared.until > now()) {',
    replace: 'if (false) {',
    tests: tests('memory-store'),
  },
  {
    id: 'engine/store-outage-logs-in',
    behaviour: 'a store that throws is reported, and the instance logs in on its own',
    file: `${core}/engine/store-protocol.ts`,
    find: `    reportStoreError(engine, operation, scrubSecrets(message, [token, engine.current?.token]));
    return storeDown;`,
    replace: '    throw error;',
    tests: tests('events'),
  },
  {
    id: 'engine/lock-wait-gives-up',
    behaviour: 'a login lock held past the login timeout is presumed dead',
    file: `${core}/engine/store-protocol.ts`,
    find: 'if (now() >= waitUntil) {',
    replace: 'if (false) {',
    tests: tests('events'),
  },
  {
    id: 'engine/generation-fencing',
    behaviour: "a stale leader's late write does not replace a newer token (memory store)",
    file: `${core}/engine/memory-store.ts`,
    find: 'const accepted = stored === undefined || stored.generation < lease.generation;',
    replace: 'const accepted = true;',
    tests: tests('memory-store'),
  },
  {
    id: 'engine/lock-compare-and-delete',
    behaviour: 'a lease releases the lock only if it still holds it (memory store)',
    file: `${core}/engine/memory-store.ts`,
    find: 'if (this.#locks.get(lease.key)?.id === lease.id) this.#locks.delete(lease.key);',
    replace: 'this.#locks.delete(lease.key);',
    tests: tests('memory-store'),
  },

  // auth
  {
    id: 'auth/401-is-a-refusal',
    behaviour: 'a login answered 401 is InvalidCredentialsError',
    file: `${core}/auth/session.ts`,
    find: 'if (status === 401) throw new InvalidCredentialsError();',
    replace: '',
    tests: tests('login-failures'),
  },
  {
    id: 'auth/408-retried',
    behaviour: 'a login answered 408 is retried',
    file: `${core}/auth/session.ts`,
    find: 'const retryable = status === 408 || status === 429 || status >= 500;',
    replace: 'const retryable = status === 429 || status >= 500;',
    tests: tests('login-failures'),
  },
  {
    id: 'auth/impersonation-header',
    behaviour: 'an API key acting as a user sends impersonate-user-id',
    file: `${core}/auth/api-key.ts`,
    find: "if (impersonate !== undefined) headers.set('impersonate-user-id', impersonate);",
    replace: '',
    tests: tests('credentials'),
  },

  // client: the call pipeline, identities, the pool
  {
    id: 'client/caller-credentials-refused',
    behaviour: 'a caller-set Authorization or API-key header is an error, not an override',
    file: `${core}/client/call.ts`,
    find: '      if (given.has(name)) {',
    replace: '      if (false) {',
    tests: tests('credentials'),
  },
  {
    id: 'client/stream-not-replayed',
    behaviour: 'a stream body is never replayed: the first answer goes back',
    file: `${core}/client/pipeline.ts`,
    find: `      if (!call.replayable) return first;
      await discardResponse(first);
      const fresh`,
    replace: `      await discardResponse(first);
      const fresh`,
    tests: tests('replay'),
  },
  {
    id: 'client/one-replay',
    behaviour: 'a second failure is returned to the caller: no loop',
    file: `${core}/client/pipeline.ts`,
    find: `        this.#denials.remember(fresh, token, call.method, second, target);
      }
      return second;`,
    replace: `        this.#denials.remember(fresh, token, call.method, second, target);
      }
      if (this.#reauth.has(second.status)) {
        manager.invalidate(fresh);
        await discardResponse(second);
        return await this.#send(target, call, await this.#waitForToken(manager, call));
      }
      return second;`,
    tests: tests('reauth'),
  },
  {
    id: 'client/denials',
    behaviour: 'a permission 403 learnt for the current token costs no further login',
    file: `${core}/client/pipeline.ts`,
    find: 'if (this.#denials.has(token, call.method, first, target)) return first;',
    replace: '',
    tests: tests('reauth'),
  },
  {
    id: 'client/redirect-guard',
    behaviour: 'a redirect outside the base URL is not followed',
    file: `${core}/client/pipeline.ts`,
    find: '        !isInside(this.#scope, next) ||',
    replace: '',
    tests: tests('redirects'),
  },
  {
    id: 'client/redirect-limit',
    behaviour: 'at most 5 redirects are followed',
    file: `${core}/client/pipeline.ts`,
    find: '        hops >= maxRedirects ||',
    replace: '',
    tests: tests('redirects'),
  },
  {
    id: 'client/json-redacts-token',
    behaviour: "an UpstreamError's excerpt is scrubbed of the token the call was sent with",
    file: `${core}/client/json.ts`,
    find: 'redactExcerpt(text, [...secrets, ...tokens])',
    replace: 'redactExcerpt(text, [...secrets])',
    tests: tests('json'),
  },
  {
    id: 'client/as-cache-per-identity',
    behaviour: 'as() keeps one derived client per identity, not one for all',
    file: `${core}/client/family.ts`,
    find: 'let client = cache.get(key);',
    replace: 'let client = cache.values().next().value;',
    tests: tests('identity'),
  },
  {
    id: 'client/close-waits-for-calls',
    behaviour: 'close() resolves only once every call in flight has settled',
    file: `${core}/client/api-client.ts`,
    find: '.then(() => pipeline.idle())',
    replace: '',
    tests: tests('close'),
  },
  {
    id: 'client/options-taken-as-given',
    behaviour: 'a valid option is used as given, not replaced by its default',
    file: `${core}/client/options.ts`,
    find: 'return { ...result.data, auth, timeoutGiven };',
    replace: 'return { ...result.data, loginRetries: defaults.loginRetries, auth, timeoutGiven };',
    tests: tests('config'),
  },
  {
    id: 'client/pool-close-after-drain',
    behaviour: "a dropped tenant's client is closed once its calls and answers are done",
    file: `${core}/client/client-pool.ts`,
    find: 'if (entry.client !== undefined) void closeWhenDrained(entry.client);',
    replace: '',
    tests: tests('client-pool'),
  },
  {
    id: 'client/pool-keeps-busy-client',
    behaviour: 'a dropped client with calls in flight or answers unread is not closed under them',
    file: `${core}/client/drain.ts`,
    find: 'if (this.#pending <= 0) return finish();',
    replace: 'return finish();',
    tests: tests('tenant-safety', 'client-pool'),
  },
  {
    id: 'client/pool-idle-sweeper',
    behaviour: 'idle clients are closed by an unref’d timer when no call comes',
    file: `${core}/client/client-pool.ts`,
    find: 'unrefTimer(sweeper);',
    replace: '',
    tests: tests('client-pool'),
  },
  {
    id: 'client/pool-resolve-not-remembered',
    behaviour: "a failed resolve is not remembered: the tenant's next call runs it again",
    file: `${core}/client/client-pool.ts`,
    find: `    } finally {
      if (current()) entry.pending = undefined;
    }`,
    replace: '    } finally {}',
    tests: tests('client-pool'),
  },
  {
    id: 'client/pool-close-closes-clients',
    behaviour: "pool.close() closes every tenant's client",
    file: `${core}/client/client-pool.ts`,
    find: 'await Promise.all(all.map((entry) => entry.client?.close() ?? Promise.resolve()));',
    replace: '',
    tests: tests('client-pool'),
  },
  {
    id: 'client/pool-close-destroys-agent',
    behaviour: "pool.close() destroys the pool's Agent (its connections)",
    file: `${core}/client/client-pool.ts`,
    find: 'await agent?.destroy(new ClientClosedError());',
    replace: '',
    tests: tests('client-pool'),
  },

  // adapter kit
  {
    id: 'adapter-kit/closed-is-503',
    behaviour: 'a closed client is answered 503 problem+json',
    file: `${core}/adapter-kit/problem-details.ts`,
    find: "E_CLOSED: { status: 503, title: 'The API client is closed' },",
    replace: "E_CLOSED: { status: 500, title: 'The API client is closed' },",
    tests: tests('errors'),
  },

  // the mock upstream
  {
    id: 'mock/close-ends-connections',
    behaviour: "the mock upstream's close() ends open connections instead of waiting for them",
    file: 'packages/mock-upstream/src/mock-upstream.ts',
    find: 'server.closeAllConnections();',
    replace: '',
    tests: ['packages/mock-upstream/test/mock-upstream.test.ts'],
  },

  // the Redis store
  // issue 20: tenant safety
  {
    id: 'engine/secret-binding',
    behaviour: 'a store key is bound to the secret: another password gets another key',
    file: `${core}/engine/store-key.ts`,
    find: "const binding = secrets.length === 0 ? '' : await secretBinding(baseUrl, secrets);",
    replace: "const binding = '';",
    tests: tests('tenant-safety'),
  },
  {
    id: 'client/as-lru-bound',
    behaviour: 'as() keeps at most derivedCacheSize clients: the oldest is dropped',
    file: `${core}/client/family.ts`,
    find: 'if (cache.size >= derivedCacheSize) {',
    replace: 'if (false) {',
    tests: tests('tenant-safety'),
  },
  {
    id: 'client/family-credential-refusal',
    behaviour: 'a 401 for one org cools every org of the password down',
    file: `${core}/client/api-client.ts`,
    find: 'if (refused !== undefined && now() < refused.until) throw new InvalidCredentialsError();',
    replace: '',
    tests: tests('tenant-safety'),
  },
  {
    id: 'client/resolve-read-in-boundary',
    behaviour: "what resolve() answers is read inside the pool's error boundary",
    file: `${core}/client/client-pool.ts`,
    find: "      if (isTokenFetchError(error)) throw error;\n      throw new ConfigError(\n        [{ path: 'resolve', message: 'returned options that could not be read' }],",
    replace:
      "      throw error;\n      throw new ConfigError(\n        [{ path: 'resolve', message: 'returned options that could not be read' }],",
    tests: tests('tenant-safety'),
  },
  // issue 22: a degraded store, late answers, a pool that remembers
  {
    id: 'engine/store-down-keeps-token',
    behaviour: 'a refresh with the store down keeps a token with time left: no login',
    file: `${core}/engine/store-protocol.ts`,
    find: 'if (now < held.useUntil - (held.useUntil - held.refreshAt) / 2) return held;',
    replace: '',
    tests: tests('degraded-store'),
  },
  {
    id: 'engine/late-not-unusable',
    behaviour: 'a login answer that came late is used, not refused',
    file: `${core}/engine/token-lifetime.ts`,
    find: 'if (expiresAt <= sentAt) {',
    replace: 'if (expiresAt <= sentAt || Date.now() >= lastUsableMoment(sentAt, expiresAt)) {',
    tests: tests('degraded-store'),
  },
  {
    id: 'engine/pool-remembers-tokens',
    behaviour: "a pool's tenant made again takes its token without reading the shared store",
    file: `${core}/engine/caching-store.ts`,
    find: 'if (known !== undefined && known.expiresAt > now()) {',
    replace: 'if (false) {',
    tests: tests('degraded-store'),
  },
  // issue 23: work that belongs to a request
  {
    id: 'engine/stale-login-restarted',
    behaviour: 'on Workers a login left behind is started again by a later call',
    file: `${core}/engine/token-manager.ts`,
    find: '      inflight = undefined;\n    }\n    if (inflight !== undefined) {',
    replace: '    }\n    if (inflight !== undefined) {',
    tests: tests('work-per-request'),
  },
  // attack findings on issues 20 and 22
  {
    id: 'engine/store-call-bounded',
    behaviour: 'a store operation that never answers is given up after loginTimeoutMs',
    file: `${core}/engine/store-protocol.ts`,
    find: 'timer = setTimeout(resolve, engine.loginTimeoutMs, noAnswer);',
    replace: 'timer = undefined;',
    tests: tests('hanging-store'),
  },
  {
    id: 'client/org-refusal-budget',
    behaviour: 'org ids a caller chooses cost at most orgRefusalBudget refused logins per cooldown',
    file: `${core}/client/family.ts`,
    find: 'if (refusedAt.length < orgRefusalBudget || proven.has(identity)) return;',
    replace: 'return;',
    tests: tests('as-org-storm'),
  },

  {
    id: 'engine/no-background-refresh-that-dies',
    behaviour: 'where a background refresh would die with its call, none is started',
    file: `${core}/engine/token-manager.ts`,
    find: '      backgroundWorkSurvives &&\n',
    replace: '',
    tests: tests('work-per-request'),
  },
  {
    id: 'engine/invalidate-kept-alive',
    behaviour: "on Workers a rejected token's removal from the store keeps its request alive",
    file: `${core}/engine/token-manager.ts`,
    find: '        keepAlive(\n          storeCall(',
    replace: '        [].push(\n          storeCall(',
    tests: tests('work-per-request'),
  },
  {
    id: 'pool/stale-build-restarted',
    behaviour: "on Workers a pool tenant's build left behind is started again by a later call",
    file: `${core}/client/client-pool.ts`,
    find: '      entry.pending = undefined;\n    }\n    if (entry.pending === undefined) {',
    replace: '    }\n    if (entry.pending === undefined) {',
    tests: tests('work-per-request'),
  },
  {
    id: 'redis/cluster-ping-timer-portable',
    behaviour: "a node-redis Cluster's rediscovery works where timers are numbers (Deno up to 2.7)",
    file: 'packages/redis/src/redis-client.ts',
    find: `    // Not \`timer.unref()\`: Deno up to 2.7 gives timers as numbers.
    unrefTimer(timer);`,
    replace: '    timer.unref();',
    tests: redisTests('number-timers'),
  },
  // issue 20, item 8: telemetry stays bounded
  {
    id: 'otel/close-drops-series',
    behaviour: "a closed client's gauge series is observed no more",
    file: 'packages/opentelemetry/src/open-telemetry.ts',
    find: 'if (held.clients.size === 0) tokens.delete(key);',
    replace: '',
    tests: ['packages/opentelemetry/test/open-telemetry.test.ts'],
  },
  {
    id: 'redis/non-json-value-is-a-miss',
    behaviour: 'a stored value that is not JSON reads as a miss, not a throw',
    file: 'packages/redis/src/json-object.ts',
    find: `  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }`,
    replace: '  data = JSON.parse(text);',
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/value-of-its-generation',
    behaviour: 'a value copied from another generation is a miss',
    file: 'packages/redis/src/redis-token-store.ts',
    find: 'if (stored === undefined || String(stored.generation) !== generation) return undefined;',
    replace: 'if (stored === undefined) return undefined;',
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/lock-compare-and-delete',
    behaviour: 'a lease releases the Redis lock only if it still holds it',
    file: 'packages/redis/src/scripts.ts',
    find: "if read('GET', key) == id then redis.call('DEL', key) end",
    replace: "redis.call('DEL', key)",
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/generation-fencing',
    behaviour: "a stale leader's late write does not replace a newer token in Redis",
    file: 'packages/redis/src/scripts.ts',
    find: "if (generation(read('HGET', KEYS[1], 'g')) or 0) < tonumber(ARGV[1]) then",
    replace: 'if true then',
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/invalidate-only-generation',
    behaviour: 'Redis drops a rejected token only while it is still that generation',
    file: 'packages/redis/src/scripts.ts',
    find: "if read('HGET', KEYS[1], 'g') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'v') end",
    replace: "return redis.call('HDEL', KEYS[1], 'v')",
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/fresh-iv',
    behaviour: 'each encrypted write has a fresh IV',
    file: 'packages/redis/src/token-codec.ts',
    find: 'const iv = randomBytes(ivBytes);',
    replace: 'const iv = Buffer.alloc(ivBytes);',
    tests: redisTests('redis-token-store'),
  },
  {
    id: 'redis/command-timeout',
    behaviour: 'a Redis slower than the command timeout costs one timeout, never a hang',
    file: 'packages/redis/src/redis-token-store.ts',
    find: '      }, this.#timeoutMs);',
    replace: '      }, 20 * this.#timeoutMs);',
    tests: redisTests('slow-redis'),
  },
];

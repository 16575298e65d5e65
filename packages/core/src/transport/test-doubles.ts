import { createFetchTransport, type ClientTransport } from './transport.js';

/**
 * The HTTP mocks of a service's own tests, seen on the undici path. msw (v2) and nock (v14)
 * intercept through @mswjs/interceptors, which replaces `globalThis.fetch` and patches
 * `http.request`; undici's `MockAgent` is installed as undici's global dispatcher. undici's
 * `dispatcher.request()` on tokenfetch's own Agent opens its sockets itself, so none of
 * them sees it. While one of them is installed, calls (and logins) go through
 * `globalThis.fetch` instead, which all three intercept (Node's fetch uses the global
 * dispatcher). Per call: two reads of a global, nothing allocated.
 */
export function withTestDoubles(transport: ClientTransport, timeoutMs: number): ClientTransport {
  let viaFetch: ClientTransport | undefined;
  return {
    send(target, call) {
      if (!testDoubleInstalled()) return transport.send(target, call);
      viaFetch ??= createFetchTransport((input, init) => globalThis.fetch(input, init), timeoutMs);
      return viaFetch.send(target, call);
    },
    async close(reason) {
      await Promise.all([transport.close(reason), viaFetch?.close(reason)]);
    },
  };
}

/** Where @mswjs/interceptors keeps its fetch interceptor while it is applied (msw, nock). */
const fetchInterceptor = Symbol.for('fetch-interceptor');
/** undici's global dispatcher, shared by every copy of undici and by Node's own fetch. */
const globalDispatcher = Symbol.for('undici.globalDispatcher.1');

function testDoubleInstalled(): boolean {
  const scope = globalThis as Record<symbol, unknown>;
  if (scope[fetchInterceptor] !== undefined) return true;
  const dispatcher = scope[globalDispatcher] as { pendingInterceptors?: unknown } | undefined;
  // A MockAgent, whichever copy of undici made it: the method no other dispatcher has.
  return typeof dispatcher?.pendingInterceptors === 'function';
}

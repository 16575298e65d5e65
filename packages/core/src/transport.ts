import { AbortGroup, startCall, settle, type AbortLike } from './abort.js';

/** Where one request goes: the URL and the parts of it the transports need, computed once. */
export interface Target {
  readonly url: URL;
  readonly href: string;
  readonly origin: string;
  /** Path and query, as sent on the request line. */
  readonly path: string;
}

/** One request as tokenfetch sends it: credentials added, redirects not followed. */
export interface OutgoingCall {
  readonly method: string;
  /** Lower-case names. */
  readonly headers: Record<string, string>;
  /** As the caller gave it (a `Request`'s body arrives here buffered or as its stream). */
  readonly body: RequestInit['body'] | undefined;
  readonly signal: AbortLike | undefined;
  /** Instead of the transport's `timeoutMs`: the login's requests are timed by `loginTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Sends one request and resolves with its answer, whatever the status; follows no redirect. */
export type Transport = (target: Target, call: OutgoingCall) => Promise<Response>;

/** A transport and the end of it: `close()` fails its calls in flight with `reason`. */
export interface ClientTransport {
  send: Transport;
  /** Ends every call in flight with `reason` (and any later one); resolves once it is done. */
  close(reason: Error): Promise<void>;
}

/** Makes a `Target` of a URL. */
export function toTarget(url: URL): Target {
  // A response's URL has no fragment (an empty one, `#`, included), and none is sent.
  const fragment = url.href.indexOf('#');
  const href = fragment === -1 ? url.href : url.href.slice(0, fragment);
  return { url, href, origin: url.origin, path: url.pathname + url.search };
}

/**
 * The transport over a `fetch` function: the `fetch` option, or the global fetch where
 * undici is not the transport. Each request gets an AbortController with a timer that
 * ends it after `timeoutMs` without its answer's headers (the body is not timed); the
 * controller also follows the client's life until then, so that `close()` aborts it.
 */
export function createFetchTransport(fetchImpl: typeof fetch, timeoutMs: number): ClientTransport {
  const life = new AbortGroup();
  const send: Transport = async (target, call) => {
    const controller = startCall(call.timeoutMs ?? timeoutMs, call.signal, life);
    try {
      return await fetchImpl(target.href, {
        method: call.method,
        headers: call.headers,
        body: call.body ?? null,
        signal: controller.signal,
        redirect: 'manual',
        ...(isStream(call.body) ? { duplex: 'half' } : {}),
      } as RequestInit);
    } finally {
      settle(controller);
    }
  };
  return {
    send,
    close(reason) {
      life.abort(reason);
      return Promise.resolve();
    },
  };
}

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

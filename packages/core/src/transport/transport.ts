/**
 * The transport: one request out, one WHATWG `Response` back, with no credential logic. The
 * shapes every transport shares and the transport over a `fetch` function (this file: the
 * `fetch` option, and the runtime's fetch on Bun, Deno and Workers); the undici dispatcher
 * path Node uses (`undici-transport.ts`), with the lazy `Response` around undici's body
 * (`upstream-response.ts`), content decoding (`content-decoding.ts`), request bodies made
 * sendable and buffered for replay (`request-body.ts`), answers let go unread
 * (`unread-body.ts`), and the proxy from the environment (`env-proxy.ts`). Which one a
 * client gets is the platform's choice (`platform/`).
 */
import {
  AbortGroup,
  abortOnTimeout,
  unrefTimer,
  settle,
  startCall,
  type AbortLike,
  type CallController,
} from '../shared/abort.js';

/** Where one request goes: the URL and the parts of it the transports need, computed once. */
export interface Target {
  readonly url: URL;
  readonly href: string;
  readonly origin: string;
  /** Path and query, as sent on the request line. */
  readonly path: string;
}

/**
 * An undici dispatcher as fetch takes one (`init.dispatcher`): only `dispatch()` is
 * needed. Typed structurally so that this file needs nothing of undici.
 */
export interface CallDispatcher {
  dispatch(options: unknown, handler: unknown): unknown;
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
  /** Told once when this request's answer is done with (`watchAnswer`); only some calls have one. */
  readonly watcher?: AnswerWatcher;
  /** The call's own dispatcher (fetch's `init.dispatcher`), instead of the client's. */
  readonly dispatcher?: CallDispatcher | undefined;
  /** Whether the answer records when it was sent and received (resource timing). */
  readonly timed?: boolean;
  /** Header names as the caller wrote them, by lower-case name, where they differ. */
  readonly spelling?: Readonly<Record<string, string>> | undefined;
}

/** `headers` with the names the caller wrote (`Content-Type`), as fetch sends them. */
export function namedAsGiven(
  headers: Record<string, string>,
  names: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (names === undefined) return headers;
  const out: Record<string, string> = {};
  for (const name in headers) out[names[name] ?? name] = headers[name]!;
  return out;
}

/**
 * Who wants to know when the answers of their requests are done with: read to the end,
 * cancelled, failed, or collected unread (a pool's client that may only close then).
 */
export interface AnswerWatcher {
  answerDone(): void;
}

/** Calls `watcher.answerDone()` once; the first of several callers wins. */
export function answerOnce(watcher: AnswerWatcher): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    watcher.answerDone();
  };
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
  // An empty query (a trailing `?`) is sent as given, as fetch sends it.
  const search = url.search === '' && href.endsWith('?') ? '?' : url.search;
  return { url, href, origin: url.origin, path: url.pathname + search };
}

/**
 * The transport over a `fetch` function: the `fetch` option, or the global fetch where
 * undici is not the transport (Bun, Deno, Workers). Each request gets an AbortController
 * with a timer that ends it after `timeoutMs` without its answer's headers; the controller
 * also follows the request's abort group and the client's life, so that a disconnect or
 * `close()` aborts it. Both hold until its body is done, as on undici: a body read after
 * the downstream client left, or after `close()`, is aborted, and one that stalls longer
 * than `timeoutMs` while it is read rejects with a `TimeoutError`.
 */
export function createFetchTransport(fetchImpl: typeof fetch, timeoutMs: number): ClientTransport {
  const life = new AbortGroup();
  const send: Transport = async (target, call) => {
    const limit = call.timeoutMs ?? timeoutMs;
    const done = call.watcher === undefined ? undefined : answerOnce(call.watcher);
    const controller = startCall(limit, call.signal, life);
    let response: Response;
    try {
      response = await fetchImpl(target.href, {
        method: call.method,
        headers: namedAsGiven(call.headers, call.spelling),
        body: call.body ?? null,
        signal: controller.signal,
        redirect: 'manual',
        ...(isStream(call.body) ? { duplex: 'half' } : {}),
        // undici's own option: Node's fetch (and undici's) honour it, others ignore it.
        ...(call.dispatcher === undefined ? {} : { dispatcher: call.dispatcher }),
      } as RequestInit);
    } catch (error) {
      settle(controller);
      done?.();
      throw error;
    }
    clearTimeout(controller.timer);
    return followBody(response, controller, limit, done);
  };
  return {
    send,
    close(reason) {
      life.abort(reason);
      return Promise.resolve();
    },
  };
}

/**
 * Settles a call whose answer was let go unread, once that answer is collected. Workers
 * have FinalizationRegistry from compatibility date 2025-05-05 on; without one, an answer
 * let go unread keeps its listeners until the client is closed.
 */
interface Unread {
  call: CallController;
  done: (() => void) | undefined;
}
type Registry = Pick<FinalizationRegistry<Unread>, 'register' | 'unregister'>;
const unread: Registry =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<Unread>(({ call, done }) => {
        settle(call);
        done?.();
      })
    : { register: () => {}, unregister: () => false };

/**
 * `response`, its body read through a stream that fails with the call's abort reason when
 * the call is aborted (a disconnect, `close()`) or a read waits longer than `timeoutMs`,
 * whether or not the `fetch` underneath honours its signal. The call is settled (and
 * `done` called) when the body ends, is cancelled, fails, or the answer is collected unread.
 */
function followBody(
  response: Response,
  call: CallController,
  timeoutMs: number,
  done: (() => void) | undefined,
): Response {
  const source = response.body;
  // A status `new Response` refuses (an opaque redirect's 0, or none of 200–599) has no body.
  if (source === null || response.status < 200 || response.status > 599) {
    settle(call);
    done?.();
    return response;
  }
  // The call's own signal, a caller's signal included.
  const signal = call.signal;
  const reader = source.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const token = {};
  const end = () => {
    clearTimeout(timer);
    settle(call);
    unread.unregister(token);
    done?.();
  };
  const body = new ReadableStream(
    {
      // A byte stream, as fetch's body is (a BYOB reader reads it).
      type: 'bytes',
      async pull(stream) {
        if (signal.aborted) throw signal.reason;
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<never>((_resolve, reject) => {
          onAbort = () => reject(signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
        });
        timer = setTimeout(abortOnTimeout, timeoutMs, call.controller);
        unrefTimer(timer);
        try {
          const chunk = await Promise.race([reader.read(), aborted]);
          if (chunk.done) {
            end();
            stream.close();
            // A BYOB read waiting for this pull is answered with done only so.
            stream.byobRequest?.respond(0);
          } else {
            // A byte stream takes the chunk's ArrayBuffer over (detaches it): a view on a
            // larger one, such as Node's Buffer pool that nock's answers come from, is copied.
            const bytes = chunk.value;
            stream.enqueue(
              bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes),
            );
          }
        } catch (error) {
          end();
          reader.cancel(error).catch(() => {});
          throw error;
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort!);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const followed = dress(
    new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    }),
    response,
  );
  unread.register(followed, { call, done }, token);
  return followed;
}

/**
 * `followed` with what fetch's `response` says of itself: `url`, `redirected`, `type`, and
 * its headers (immutable, as fetch's are), in it and in its clones.
 */
function dress(followed: Response, response: Response): Response {
  const clone = followed.clone.bind(followed);
  const properties: (keyof Response)[] = ['url', 'redirected', 'type', 'headers'];
  for (const name of properties) {
    Object.defineProperty(followed, name, { value: response[name], configurable: true });
  }
  Object.defineProperty(followed, 'clone', {
    value: () => dress(clone(), response),
    configurable: true,
  });
  return followed;
}

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

/**
 * `response` with its body replaced by `bytes` already read from it (fetch's `integrity`
 * reads the whole answer first): a global `Response` that says what `response` said.
 */
export function withBody(response: Response, bytes: ArrayBuffer): Response {
  const body = nullBodyStatuses.has(response.status) ? null : bytes;
  const init = { status: response.status, statusText: response.statusText };
  return dress(new Response(body, init), response);
}

/**
 * A `fetch`'s answer reached through redirects (they are followed here, not by `fetch`),
 * marked so, in it and in its clones.
 */
export function markFetchRedirected(response: Response): Response {
  const clone = response.clone.bind(response);
  Object.defineProperty(response, 'redirected', { value: true, configurable: true });
  Object.defineProperty(response, 'clone', {
    value: () => markFetchRedirected(clone()),
    configurable: true,
  });
  return response;
}

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

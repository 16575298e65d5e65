/**
 * The adapter kit: what every framework adapter is made of, so that each stays a few dozen
 * lines. `api-fetch-binder.ts` turns a client into a per-request `apiFetch` whose calls end
 * when the downstream client leaves; `request-binder.ts` settles, once per middleware, which
 * client a request uses (one client, `as` per request, or a pool's tenant);
 * `problem-details.ts` answers tokenfetch errors as RFC 9457 problem+json. The kit sits on
 * top of the client layer and is published as `@tokenfetch/core/adapter` (src/adapter.ts).
 */
import { createApiClient, type ApiClient, type ApiFetch } from '../client/api-client.js';
import { groupedFetchOf } from '../client/grouped-fetch.js';
import { loadOptionsFromEnv } from '../client/env.js';
import type { ApiClientOptions } from '../client/options.js';
import { AbortGroup } from '../shared/abort.js';
import { ConfigError } from '../shared/errors.js';

/**
 * The part of Node's `ServerResponse` (or `Http2ServerResponse`) an adapter needs to see
 * the downstream client leave.
 */
export interface DisconnectSource {
  once(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
  /** HTTP/1 (`ServerResponse`): the response has closed, finished or not. */
  readonly closed?: boolean;
  /**
   * HTTP/2 (`Http2ServerResponse`): its stream. A reset stream closes with
   * `writableFinished` true, so only the stream tells a reset from a finish.
   */
  readonly stream?: { readonly aborted: boolean; readonly closed: boolean };
}

/**
 * How an adapter sees the downstream client leave: Node's response, or, where the server
 * speaks WHATWG `Request` (Hono on Bun, Deno, Workers), the request's `signal`, which the
 * runtime aborts when the client disconnects.
 */
export type Disconnect = DisconnectSource | AbortSignal;

/**
 * For adapter authors: the client behind `authMiddleware(options?)`. No argument reads the
 * environment (`loadOptionsFromEnv`), so a bad or missing variable throws `ConfigError`
 * at start-up; `{ client }` shares one client (and its token) between apps.
 */
export function clientFromOptions(options?: ApiClientOptions | { client: ApiClient }): ApiClient {
  if (options === undefined) return createApiClient(loadOptionsFromEnv());
  if ('client' in options) {
    // Checked now: an undefined (a client not yet made) or anything else would otherwise
    // fail only at a request's first apiFetch().
    const { client } = options as { client: Partial<ApiClient> | null | undefined };
    if (typeof client?.fetch !== 'function' || typeof client.as !== 'function') {
      throw new ConfigError(
        [{ path: 'client', message: 'must be an ApiClient made by createApiClient()' }],
        'invalid authMiddleware() options',
      );
    }
    return client as ApiClient;
  }
  return createApiClient(options);
}

/**
 * For adapter authors: call once per middleware, then once per request to get that
 * request's `apiFetch`. Which way the client is wired is settled here, once; attaching
 * then costs one closure, and the first call adds one `close` listener, which aborts the
 * upstream calls when the downstream client disconnects before its response is finished.
 */
export function createApiFetchBinder<Req = unknown>(
  client: ApiClient,
  onLoginFailure?: (error: unknown, req: Req) => void,
): (response: Disconnect, req?: Req) => ApiFetch {
  const grouped = groupedFetchOf(client);
  const report = onLoginFailure === undefined ? undefined : safely(onLoginFailure);
  if (grouped !== undefined) {
    // A client made by this copy of core: its calls join the request's group, which costs
    // far less than an AbortSignal per request plus AbortSignal.any per call. A login
    // failure a call waited on is told to the group: nothing is added to a call's path.
    return (response, req) => {
      let group: AbortGroup | undefined;
      return (input, init) => {
        if (group === undefined) {
          group = watch(response);
          group.onLoginFailure = report as ((error: unknown, request: unknown) => void) | undefined;
          group.request = req;
        }
        return grouped(input, init, group);
      };
    };
  }
  return (response, req) => {
    let disconnected: AbortSignal | undefined;
    const fetch: ApiFetch = (input, init) => {
      if (disconnected === undefined) {
        const controller = new AbortController();
        watch(response).join(controller);
        disconnected = controller.signal;
      }
      // The caller's own signal: init's, else a Request input's (init's signal replaces it).
      const own =
        init?.signal === undefined && input instanceof Request ? input.signal : init?.signal;
      const signal = own == null ? disconnected : AbortSignal.any([own, disconnected]);
      return client.fetch(input, { ...init, signal });
    };
    if (report === undefined) return fetch;
    // A client from elsewhere (a wrapper, another copy of core): its failures are seen here.
    return (input, init) =>
      fetch(input, init).catch((error: unknown) => {
        report(error, req as Req);
        throw error;
      });
  };
}

/** A reporter whose throw (a broken logger) never fails the call it reports on. */
function safely<Req>(
  report: (error: unknown, req: Req) => void,
): (error: unknown, req: Req) => void {
  return (error, req) => {
    try {
      report(error, req);
    } catch {
      // The app's logger is the app's bug; the call still ends with its own error.
    }
  };
}

/**
 * A group aborted when the downstream client leaves before `response` is finished (or when
 * the request's signal aborts). Made at the first call, which may come after the client has
 * left (the handler awaited something else first): then the group is aborted at once, and
 * the call is never sent.
 */
function watch(response: Disconnect): AbortGroup {
  const group = new AbortGroup();
  if (!('once' in response)) {
    // The abort reason is ours, not the runtime's: a call ends with the same AbortError
    // whichever server the app runs on.
    if (response.aborted) group.abort(disconnected());
    else response.addEventListener('abort', () => group.abort(disconnected()), { once: true });
    return group;
  }
  const closed = response.stream === undefined ? response.closed === true : response.stream.closed;
  if (closed) {
    if (left(response)) group.abort(disconnected());
    return group;
  }
  response.once('close', () => {
    if (left(response)) group.abort(disconnected());
  });
  return group;
}

/** Whether a closed response was left by its client rather than finished. */
function left(response: DisconnectSource): boolean {
  return !response.writableFinished || response.stream?.aborted === true;
}

function disconnected(): DOMException {
  return new DOMException('the downstream client disconnected', 'AbortError');
}

// `#platform` everywhere but Node (Bun, Deno, Workers, browsers): calls go through the
// runtime's own `fetch`, its fast path there. Nothing here imports Node or undici.
import type { Dispatcher } from 'undici';
import type { ConfigIssue } from '../shared/errors.js';
import {
  createFetchTransport,
  markFetchRedirected,
  type ClientTransport,
} from '../transport/transport.js';
import { sha256Hex as hash } from './sha256.js';

/** How calls are sent when no `fetch` is given: undici on the Node build, the runtime's `fetch` here. */
export const defaultTransport: 'undici' | 'fetch' = 'fetch';

/**
 * The transport of a client with no `fetch` of its own: the global `fetch`, looked up at
 * each call (so that a runtime's or a test's replacement of it is seen).
 */
export function createDefaultTransport(
  timeoutMs: number,
  _dispatcher: Dispatcher | undefined,
  _timeoutGiven = false,
): ClientTransport {
  return createFetchTransport((input, init) => globalThis.fetch(input, init), timeoutMs);
}

/** Why a `dispatcher` cannot be used here, or `undefined` when it can. */
export const dispatcherUnsupported: string | undefined =
  'needs undici, which @tokenfetch/core uses on Node only: here calls go through the runtime’s fetch (pass fetch to replace it)';

/** The dispatcher a pool's tenants share when the pool is given none: none here. */
export function sharedDispatcher(): Dispatcher | undefined {
  return undefined;
}

/**
 * No dispatcher for `HTTPS_PROXY` / `HTTP_PROXY`: Bun's and Deno's `fetch` read those
 * variables themselves; Workers and browsers have none.
 */
export function proxyFromEnv(
  _env: Record<string, string | undefined>,
  _issues: ConfigIssue[],
): Dispatcher | undefined {
  return undefined;
}

/** The same answer, marked as reached through redirects. */
export function markRedirected(response: Response): Response {
  return markFetchRedirected(response);
}

/** Lets go of an answer not handed to the caller, as fetch's `cancel` does. */
export function discardResponse(response: Response): Promise<void> {
  return response.body?.cancel() ?? Promise.resolve();
}

/** SHA-256 of `text` (UTF-8), in lower-case hex: synchronous, which WebCrypto is not. */
export function sha256Hex(text: string): string {
  return hash(text);
}

/** Work that outlives the call that started it needs nothing to keep it alive here. */
export function keepAlive(_work: Promise<unknown>): void {}

/**
 * Whether work (a login, its timers) belongs to the request that started it and may die
 * with it, never settling: not on Bun, Deno or browsers (workerd.ts says otherwise).
 */
export const workBelongsToRequest: boolean = false;

/** Node's listener limit (`MaxListenersExceededWarning`) has no counterpart here. */
export function raiseListenerLimit(_signal: AbortSignal): void {}

/** Here the runtime's own `fetch` makes the resource-timing entries, where it makes any. */
export function timeAnswer(
  _response: Response,
  _name: string,
  _startTime: number,
  _redirectStart: number,
  _redirectEnd: number,
): void {}

/**
 * The platform: what differs between runtimes, chosen by package conditions through the
 * `#platform` entry of package.json's `imports` (this file on Node, `web.ts` on Bun, Deno,
 * Workers and browsers): the default transport, the shared dispatcher of a pool, the proxy
 * from the environment, and SHA-256. On Node calls go through undici's dispatcher API (the
 * cost figures are in bench/README.md); everything else in core is plain JavaScript and web
 * APIs, and what needs Node or undici is here.
 */
import { createHash } from 'node:crypto';
import { defaultMaxListeners, getMaxListeners, setMaxListeners } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { proxyFromEnv as undiciProxyFromEnv } from '../transport/env-proxy.js';
import type { ConfigIssue } from '../shared/errors.js';
import { withTestDoubles } from '../transport/test-doubles.js';
import type { ClientTransport } from '../transport/transport.js';
import { createUndiciTransport } from '../transport/undici-transport.js';
import { UpstreamResponse } from '../transport/upstream-response.js';

/** How calls are sent when no `fetch` is given: undici here, the runtime's `fetch` on the web build. */
export const defaultTransport: 'undici' | 'fetch' = 'undici';

/**
 * The transport of a client with no `fetch` of its own: undici's dispatcher, or
 * `globalThis.fetch` while a test's HTTP mock (msw, nock, undici's MockAgent) is installed.
 */
export function createDefaultTransport(
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
  timeoutGiven = false,
): ClientTransport {
  return withTestDoubles(createUndiciTransport({ timeoutMs, timeoutGiven, dispatcher }), timeoutMs);
}

/** Why a `dispatcher` cannot be used here, or `undefined` when it can. */
export const dispatcherUnsupported: string | undefined = undefined;

/** The dispatcher a pool's tenants share when the pool is given none: one undici `Agent`. */
export function sharedDispatcher(): Dispatcher | undefined {
  return new Agent();
}

/** The proxy `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` ask for, as an undici dispatcher. */
export function proxyFromEnv(
  env: Record<string, string | undefined>,
  issues: ConfigIssue[],
): Dispatcher | undefined {
  return undiciProxyFromEnv(env, issues);
}

/**
 * Nothing on Node: calls go through undici, which reads no proxy variable by itself, and
 * the proxy of `loadOptionsFromEnv` reaches loopback hosts directly (transport/env-proxy.ts).
 */
export function proxyVariableFor(_url: URL): string | undefined {
  return undefined;
}

/** The same answer, marked as reached through redirects. */
export function markRedirected(response: Response): Response {
  return UpstreamResponse.redirected(response);
}

/** Lets go of an answer not handed to the caller, so its connection can be reused. */
export function discardResponse(response: Response): Promise<void> {
  return UpstreamResponse.discard(response);
}

/** SHA-256 of `text` (UTF-8), in lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Work that outlives the call that started it needs nothing to keep it alive here. */
export function keepAlive(_work: Promise<unknown>): void {}

/**
 * Whether work (a login, its timers) belongs to the request that started it and may die
 * with it, never settling: not here. A login's own timeout always ends it.
 */
export const workBelongsToRequest: boolean = false;

/**
 * Whether work no call awaits (a background refresh) outlives the call that starts it:
 * here nothing started by a call dies with it.
 */
export const backgroundWorkSurvives: boolean = true;

/**
 * A caller's signal that many calls share: as fetch does, its listener limit is raised from
 * Node's default of 10 (undici's listener per call in flight would warn past it).
 */
export function raiseListenerLimit(signal: AbortSignal): void {
  if (getMaxListeners(signal) === defaultMaxListeners) setMaxListeners(1500, signal);
}

/** fetch's resource-timing entry for a call, made when its answer's body has been read. */
export function timeAnswer(
  response: Response,
  name: string,
  startTime: number,
  redirectStart: number,
  redirectEnd: number,
): void {
  UpstreamResponse.time(response, name, startTime, redirectStart, redirectEnd);
}

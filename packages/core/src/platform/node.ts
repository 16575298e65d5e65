// `#platform` on Node: calls go through undici's dispatcher API (the cost figures are in
// bench/README.md). Everything else in core is plain JavaScript and web APIs; what needs
// Node or undici is here, behind the `imports` map of package.json.
import { createHash } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { proxyFromEnv as undiciProxyFromEnv } from '../env-proxy.js';
import type { ConfigIssue } from '../errors.js';
import { withTestDoubles } from '../test-doubles.js';
import type { ClientTransport } from '../transport.js';
import { createUndiciTransport } from '../undici-transport.js';
import { UpstreamResponse } from '../upstream-response.js';

/** How calls are sent when no `fetch` is given: undici here, the runtime's `fetch` on the web build. */
export const defaultTransport: 'undici' | 'fetch' = 'undici';

/**
 * The transport of a client with no `fetch` of its own: undici's dispatcher, or
 * `globalThis.fetch` while a test's HTTP mock (msw, nock, undici's MockAgent) is installed.
 */
export function createDefaultTransport(
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
): ClientTransport {
  return withTestDoubles(createUndiciTransport({ timeoutMs, dispatcher }), timeoutMs);
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

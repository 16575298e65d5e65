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

/**
 * The variable (`HTTP_PROXY`, `HTTPS_PROXY`…) whose proxy the runtime's own `fetch` would send
 * a call to `url` through, or `undefined`. Bun's and Deno's `fetch` read those variables
 * themselves and cannot be told to go direct for one call, so core refuses a loopback
 * target they would proxy (plain http is allowed there only because it stays on this
 * machine). `NO_PROXY` is read as they read it: `*`, a host, `.suffix`, `host:port`.
 * Without access to the environment (Deno without `--allow-env`): `undefined`.
 */
export function proxyVariableFor(url: URL): string | undefined {
  const env = readEnv();
  if (env === undefined) return undefined;
  const names =
    url.protocol === 'https:'
      ? ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']
      : ['http_proxy', 'HTTP_PROXY'];
  const variable = names.find((name) => (env[name] ?? '').trim() !== '');
  if (variable === undefined) return undefined;
  const host = url.hostname.toLowerCase();
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  const noProxy = [env.no_proxy, env.NO_PROXY]
    .find((value) => value !== undefined && value.trim() !== '')
    ?.toLowerCase()
    .split(/[\s,]+/);
  for (const entry of noProxy ?? []) {
    if (entry === '*') return undefined;
    const parsed = /^(.+):(\d+)$/.exec(entry);
    if (parsed !== null && parsed[2] !== port) continue;
    const name = (parsed?.[1] ?? entry).replace(/^\*?\./, '');
    if (name !== '' && (host === name || host.endsWith(`.${name}`))) return undefined;
  }
  return variable;
}

function readEnv(): Record<string, string | undefined> | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env;
    // Read every name once here: Deno throws on the first read without --allow-env.
    return env === undefined ? undefined : { ...env };
  } catch {
    return undefined;
  }
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

/**
 * Whether work no call awaits (a background refresh) outlives the call that starts it:
 * on Bun, Deno and browsers nothing started by a call dies with it.
 */
export const backgroundWorkSurvives: boolean = true;

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

// `#platform` on Cloudflare's workerd: the web build, and a way to keep the request that
// starts a background refresh alive until the refresh settles. workerd ties every I/O to
// the request that started it and cancels what is left when that request ends: a refresh
// started by a call that got its token at once would be cancelled with that call's
// request, and every later call that joins it would fail ("This promise was created by a
// request that has since ended") or wait for ever.
export {
  createDefaultTransport,
  defaultTransport,
  discardResponse,
  dispatcherUnsupported,
  markRedirected,
  proxyFromEnv,
  raiseListenerLimit,
  sha256Hex,
  sharedDispatcher,
  timeAnswer,
} from './web.js';

/** Workers have no proxy variables: their `fetch` goes where it is sent. */
export function proxyVariableFor(_url: URL): string | undefined {
  return undefined;
}

// Loaded once, at start-up. Under the `workerd` condition outside workerd (a bundler's
// test on Node) there is no such module, and nothing to keep alive.
const workers: { waitUntil?(promise: Promise<unknown>): void } | undefined =
  await import('cloudflare:workers').catch(() => undefined);

/**
 * Whether a background refresh outlives the call that starts it: only where `waitUntil`
 * keeps its request alive. workerd's `cloudflare:workers` offers `waitUntil` in later builds
 * only (1.20250404.0, the oldest workerd that takes the floor compatibility date, has none):
 * without it the engine starts no background refresh, and renews a token when a call
 * needs it, as at the first login. Outside workerd nothing dies with a request.
 */
export const backgroundWorkSurvives: boolean =
  workers === undefined || typeof workers.waitUntil === 'function';

/** Keeps the current request alive until `work` settles (outside a request, or with no `waitUntil`: nothing). */
export function keepAlive(work: Promise<unknown>): void {
  try {
    workers?.waitUntil?.(work);
  } catch {
    // Not inside a request: nothing to keep alive.
  }
}

/**
 * On workerd, work belongs to the request that started it: a login whose request was
 * cancelled before `waitUntil` could keep it (or whose timers died with it) may never
 * settle, and the engine leaves it behind once it is overdue.
 */
export const workBelongsToRequest = true;

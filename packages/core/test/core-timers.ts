import { vi } from 'vitest';

/** A timer started by tokenfetch's own code, with the delay it was given. */
export interface CoreTimer {
  ms: number | undefined;
  timer: NodeJS.Timeout;
}

/**
 * Watches the timers that tokenfetch's own code (`packages/core/src`) starts from now on,
 * through the `setTimeout` in place (the real one, or vitest's fake one when the timers
 * were faked first). The timers of anything else in the process (the mock upstream,
 * undici, vitest) are left out. `vi.restoreAllMocks()` ends the watch.
 */
export function watchCoreTimers(): {
  /** Every timer started, oldest first. */
  readonly started: CoreTimer[];
  /** The timers that have neither fired nor been cleared. */
  pending(): NodeJS.Timeout[];
} {
  const started: CoreTimer[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const setTimeout = globalThis.setTimeout;
  const clearTimeout = globalThis.clearTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const timer = setTimeout(
      (...passed: unknown[]) => {
        pending.delete(timer);
        callback(...passed);
      },
      ms,
      ...args,
    );
    if (startedByCore()) {
      started.push({ ms, timer });
      pending.add(timer);
    }
    return timer;
  }) as typeof globalThis.setTimeout);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => {
    if (typeof timer === 'object') pending.delete(timer as NodeJS.Timeout);
    clearTimeout(timer);
  });
  return { started, pending: () => [...pending] };
}

function startedByCore(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  // The code that called setTimeout: the first frame past this helper and vitest's spy.
  // Timers that Node's own fetch starts while core calls it are Node's, not core's.
  const caller = stack
    .split('\n')
    .slice(1)
    .find((frame) => !frame.includes('core-timers.ts') && !frame.includes('node_modules'));
  return caller?.includes('/packages/core/src/') ?? false;
}

/**
 * Waits `ms`; rejects with the abort reason when `signal` aborts. The timer is unref'd
 * unless `keepAlive`: only a wait that a caller awaits may hold the process open.
 */
export function sleep(ms: number, signal: AbortSignal, keepAlive = false): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (!keepAlive) timer.unref?.();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Everything about ending waits and calls early: the per-request abort group of the
 * adapters, the per-call controller, an abortable sleep, and detaching one waiter from a
 * shared promise.
 */

/**
 * Calls that end together: an adapter's upstream calls for one downstream request, all
 * aborted when the downstream client leaves. Joining costs an array push, where an
 * AbortSignal per request plus `AbortSignal.any` per call costs tens of µs on Node 20
 * (each AbortSignal is created on a slow path; `any` adds WeakRefs and Sets).
 */
export class AbortGroup {
  #members: AbortController[] | undefined = [];
  #reason: unknown;

  /** Adds a call; one joining after `abort()` is aborted at once. */
  join(controller: AbortController): void {
    if (this.#members === undefined) controller.abort(this.#reason);
    else this.#members.push(controller);
  }

  abort(reason: unknown): void {
    const members = this.#members;
    if (members === undefined) return;
    this.#members = undefined;
    this.#reason = reason;
    for (const controller of members) controller.abort(reason);
  }
}

/**
 * The controller of one call: aborted after `timeoutMs` with the same `TimeoutError` as
 * `AbortSignal.timeout()` (unless `settle()` comes first) and by `group`. Its signal is
 * combined with a caller's own signal by `AbortSignal.any`, only when there is one.
 */
export interface CallController {
  controller: AbortController;
  signal: AbortSignal;
  timer: ReturnType<typeof setTimeout>;
}

export function startCall(
  timeoutMs: number,
  caller: AbortSignal | null | undefined,
  group: AbortGroup | undefined,
): CallController {
  const controller = new AbortController();
  const timer = setTimeout(abortOnTimeout, timeoutMs, controller);
  timer.unref?.();
  group?.join(controller);
  const signal = caller == null ? controller.signal : AbortSignal.any([caller, controller.signal]);
  return { controller, signal, timer };
}

/** The answer has arrived: stop the timeout. A caller's or group's abort still reaches the body. */
export function settle(call: CallController): void {
  clearTimeout(call.timer);
}

function abortOnTimeout(controller: AbortController): void {
  controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
}

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

/**
 * Settles with `promise`, or rejects with the abort reason when `signal` aborts first. The
 * shared promise itself is never cancelled: an abort detaches this waiter only.
 */
export function detach<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

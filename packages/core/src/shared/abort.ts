/**
 * Everything about ending waits and calls early: the per-request abort group of the
 * adapters, the per-call controller, an abortable sleep, and detaching one waiter from a
 * shared promise.
 */

/**
 * What can abort a call: an `AbortSignal`, or an `AbortGroup`. undici takes either (it
 * needs `aborted`, `reason` and the two listener methods).
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Calls that end together: an adapter's upstream calls for one downstream request, all
 * aborted when the downstream client leaves. It is handed to undici as the calls' signal
 * and costs a Set entry per call in flight, where an AbortSignal per request plus
 * `AbortSignal.any` per call costs tens of µs on Node 20 (each AbortSignal is created on a
 * slow path; `any` adds WeakRefs and Sets). A settled call removes its listener, so a
 * long-lived request does not grow.
 */
export class AbortGroup implements AbortLike {
  /**
   * Told of each login failure a call of the group waited on (an adapter logs it), with
   * `request`, the downstream request the group belongs to. Set by the adapter kit.
   */
  onLoginFailure: ((error: unknown, request: unknown) => void) | undefined = undefined;
  request: unknown = undefined;
  #listeners = new Set<() => void>();
  #aborted = false;
  #reason: unknown;
  #signal: AbortSignal | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A real `AbortSignal` that follows the group, made on first use (for `AbortSignal.any`). */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const controller = new AbortController();
      this.join(controller);
      this.#signal = controller.signal;
    }
    return this.#signal;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }

  /** Listeners of calls in flight (for tests and diagnostics). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Aborts `controller` with the group (at once, if the group has already aborted). */
  join(controller: AbortController): void {
    if (this.#aborted) controller.abort(this.#reason);
    else this.#listeners.add(() => controller.abort(this.#reason));
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  }
}

/**
 * A signal that aborts with the first of its sources, and follows them only while someone
 * listens to it: undici listens while its request runs, so the sources (a call's own signal
 * or group, and its client's life) are left when the request is done. It exists for calls
 * that must end with the client but carry a signal of their own, on a dispatcher that
 * `close()` cannot destroy (the caller's); each costs an object and a listener per source.
 */
export class LinkedSignal implements AbortLike {
  readonly #sources: readonly AbortLike[];
  readonly #listeners = new Set<() => void>();
  readonly #onAbort = () => this.#fire();

  constructor(sources: readonly AbortLike[]) {
    this.#sources = sources;
  }

  get aborted(): boolean {
    return this.#sources.some((source) => source.aborted);
  }

  get reason(): unknown {
    return this.#sources.find((source) => source.aborted)?.reason;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.#listeners.size === 0) {
      for (const source of this.#sources) source.addEventListener('abort', this.#onAbort);
    }
    this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#leave();
  }

  #leave(): void {
    for (const source of this.#sources) source.removeEventListener('abort', this.#onAbort);
  }

  #fire(): void {
    this.#leave();
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  }
}

/**
 * The controller of one call: aborted after `timeoutMs` with the same `TimeoutError` as
 * `AbortSignal.timeout()` (unless `settle()` comes first), and by `group` and `life` (the
 * client's) until then. Its signal is combined with a caller's own signal by
 * `AbortSignal.any`, only when there is one.
 */
export interface CallController {
  controller: AbortController;
  signal: AbortSignal;
  timer: ReturnType<typeof setTimeout>;
  group: AbortLike | undefined;
  life: AbortLike | undefined;
  onAbort: () => void;
}

/**
 * `signal` is what the call already has: a caller's own `AbortSignal` (combined with
 * `AbortSignal.any`) or an adapter's `AbortGroup` (followed by a listener).
 */
export function startCall(
  timeoutMs: number,
  signal: AbortLike | undefined,
  life?: AbortLike,
): CallController {
  const caller = signal instanceof AbortSignal ? signal : undefined;
  const group = caller === undefined ? signal : undefined;
  const controller = new AbortController();
  const timer = setTimeout(abortOnTimeout, timeoutMs, controller);
  unrefTimer(timer);
  const onAbort = () => controller.abort(group?.aborted ? group.reason : life?.reason);
  if (group?.aborted || life?.aborted) {
    onAbort();
  } else {
    group?.addEventListener('abort', onAbort);
    life?.addEventListener('abort', onAbort);
  }
  return {
    controller,
    signal: caller === undefined ? controller.signal : AbortSignal.any([caller, controller.signal]),
    timer,
    group,
    life,
    onAbort,
  };
}

/**
 * The call has settled (its answer's headers are in, or it failed): stop the timeout and
 * leave the group and the client's life, so that a long-lived request's group does not
 * grow with its calls. A caller's own signal still reaches the body; the group's abort no
 * longer does (the body is the caller's: a disconnect ends it where it is piped to).
 */
export function settle(call: CallController): void {
  clearTimeout(call.timer);
  call.group?.removeEventListener('abort', call.onAbort);
  call.life?.removeEventListener('abort', call.onAbort);
}

/** Deno's timers are numbers; it lets one go, or holds it again, through these. */
interface DenoTimers {
  unrefTimer?(id: number): void;
  refTimer?(id: number): void;
}

/**
 * Lets `timer` not hold the process open: `unref()` on Node and Bun, `Deno.unrefTimer` on
 * Deno, where a timer is a number (and `unref` is not there); nothing elsewhere.
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === 'number') denoTimers()?.unrefTimer?.(timer);
  else timer.unref?.();
}

/** Lets `timer` hold the process open again (see `unrefTimer`). */
export function refTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === 'number') denoTimers()?.refTimer?.(timer);
  else timer.ref?.();
}

function denoTimers(): DenoTimers | undefined {
  return (globalThis as { Deno?: DenoTimers }).Deno;
}

/** The error fetch rejects with when `AbortSignal.timeout()` fires. */
export function timeoutError(cause?: unknown): DOMException {
  const error = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause });
  return error;
}

/** Aborts `controller` with the `TimeoutError` of `AbortSignal.timeout()`. */
export function abortOnTimeout(controller: AbortController): void {
  controller.abort(timeoutError());
}

/**
 * Whether the waits of one piece of work (a login) hold the process open: only while
 * someone awaits it. Work that began with nobody waiting (a background refresh) is asked
 * to once a caller joins it, and then refs the timers it has running.
 */
export class KeepAlive {
  #wanted: boolean;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(wanted: boolean) {
    this.#wanted = wanted;
  }

  /** Someone awaits the work now: its waits, running and to come, keep the process alive. */
  want(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    for (const timer of this.#timers) refTimer(timer);
  }

  /** A timer of the work, unref'd unless someone awaits the work. */
  hold(timer: ReturnType<typeof setTimeout>): void {
    if (!this.#wanted) unrefTimer(timer);
    this.#timers.add(timer);
  }

  release(timer: ReturnType<typeof setTimeout>): void {
    this.#timers.delete(timer);
  }
}

/**
 * Waits `ms`; rejects with the abort reason when `signal` aborts. The timer holds the
 * process open only as `keepAlive` says: only a wait that a caller awaits may.
 */
export function sleep(ms: number, signal: AbortLike, keepAlive: KeepAlive): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      keepAlive.release(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      keepAlive.release(timer);
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    keepAlive.hold(timer);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles with `promise`, or rejects with the abort reason when `signal` aborts first. The
 * shared promise itself is never cancelled: an abort detaches this waiter only.
 */
export function detach<T>(promise: Promise<T>, signal: AbortLike | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

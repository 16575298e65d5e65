import { unrefTimer } from '../shared/abort.js';
import type { AnswerWatcher } from '../transport/transport.js';

/**
 * What a client that may be dropped (a pool's tenant, an `as()` client) still owes its
 * callers: calls in flight, and answers not yet done with (read to their end, cancelled,
 * failed, or collected unread: the transports tell, as the `AnswerWatcher` of each request).
 * A family's clients count into the family's drain too, so that dropping the root waits for
 * the calls of every client made from it.
 */
export class Drain implements AnswerWatcher {
  readonly #parent: Drain | undefined;
  #pending = 0;
  #onChange: (() => void) | undefined;

  constructor(parent?: Drain) {
    this.#parent = parent;
  }

  /** A call started, or a request was sent. */
  add(): void {
    this.#pending++;
    this.#parent?.add();
  }

  /** A call settled. */
  remove(): void {
    this.#pending--;
    this.#onChange?.();
    this.#parent?.remove();
  }

  /** A request's answer is done with (the transport says so once per request). */
  answerDone(): void {
    this.remove();
  }

  /**
   * Resolves once nothing is owed, or once `patienceMs` has passed without anything
   * finishing (a reader that holds an answer and never reads it does not keep a client
   * for ever). Looked at from the next turn on: calls already routed to the client but
   * still waiting for it to be made (a pool's tenant being built) have started by then.
   */
  drained(patienceMs: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.#onChange = undefined;
        resolve();
      };
      const check = () => {
        clearTimeout(timer);
        if (this.#pending <= 0) return finish();
        timer = setTimeout(finish, patienceMs);
        unrefTimer(timer);
      };
      timer = setTimeout(() => {
        this.#onChange = check;
        check();
      }, 0);
      unrefTimer(timer);
    });
  }
}

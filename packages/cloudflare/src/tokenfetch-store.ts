import { DurableObject } from 'cloudflare:workers';
import {
  endOf,
  isGeneration,
  isLeaseId,
  isTtl,
  readFailureRecord,
  readState,
  readValue,
  type FailureReply,
  type State,
  type TokenReply,
} from './records.js';

const stateKey = 'tokenfetch';

/**
 * The Durable Object that owns the token of one set of credentials (one per store key, by
 * `idFromName`): every isolate in every location that shares the binding asks it, so one
 * of them logs in, under its lock, for all. Bind it in your wrangler config and export it
 * from your worker; `durableObjectStore(env.TOKENS)` is its client.
 *
 * Its whole state is one small record in its storage: the last generation given out, the
 * token, the login lock, a shared login failure. Each method reads and writes it without
 * any other I/O in between, so the Durable Object's input gate makes each one atomic.
 * Every part ends (a token with its lifetime, a lock with its TTL, a failure with its
 * cooldown); an alarm deletes the record once all of it has ended. Generations keep
 * increasing across that: a record that starts over takes the clock as its floor.
 *
 * @example
 * // src/index.ts
 * export { TokenfetchStore } from '@tokenfetch/cloudflare';
 */
export class TokenfetchStore extends DurableObject {
  /** The token, if one is held and not invalidated. */
  async getToken(): Promise<TokenReply | undefined> {
    const now = Date.now();
    const { token } = await this.#load(now);
    if (token?.value === undefined) return undefined;
    return {
      generation: token.generation,
      token: token.value.token,
      lifetimeMs: Math.max(1, Math.round(token.value.expiresAt - token.value.issuedAt)),
      ttlMs: Math.max(1, Math.ceil(token.until - now)),
      ...(token.value.state === undefined ? {} : { state: token.value.state }),
    };
  }

  /**
   * The login lock for `lockTtlMs`, for lease `id`, and its generation; 0 while another
   * lease holds it or a failure with one of `codes` is shared. A failure of a code not in
   * `codes` (recorded by a later version) neither blocks nor is dropped.
   */
  async acquire(id: unknown, lockTtlMs: unknown, codes: unknown): Promise<number> {
    if (!isLeaseId(id) || !isTtl(lockTtlMs) || !isCodes(codes)) {
      throw new TypeError('acquire(id, lockTtlMs, codes): invalid arguments');
    }
    const now = Date.now();
    const state = await this.#load(now);
    if (state.failure !== undefined && codes.includes(String(state.failure.record.code))) return 0;
    if (state.lock !== undefined) return 0;
    // Above the last lease's, above the stored token's, and above the clock when the
    // record starts over: instances still remember generations from before.
    const floor = Math.max(
      (state.token?.generation ?? 0) + 1,
      state.generation === undefined ? now : 0,
    );
    const generation = Math.max((state.generation ?? 0) + 1, floor);
    await this.#save({ ...state, generation, lock: { id, until: now + lockTtlMs } });
    return generation;
  }

  /**
   * Stores a token obtained under lease `id` for `ttlMs`, if `generation` is newer than the
   * stored one (1), else leaves it (0); clears a shared failure; releases the lock if the
   * lease still holds it.
   */
  async commit(generation: unknown, id: unknown, token: unknown, ttlMs: unknown): Promise<number> {
    const value = readValue(token);
    if (!isGeneration(generation) || !isLeaseId(id) || value === undefined || !isTtl(ttlMs)) {
      throw new TypeError('commit(generation, id, token, ttlMs): invalid arguments');
    }
    const now = Date.now();
    const state = await this.#load(now);
    const accepted = (state.token?.generation ?? 0) < generation;
    const next: State = { ...state, lock: unlocked(state, id) };
    if (accepted) {
      next.token = { generation, value, until: now + ttlMs };
      next.failure = undefined;
    }
    await this.#save(next);
    return accepted ? 1 : 0;
  }

  /** Releases the lock if lease `id` holds it; shares `failure` for `ttlMs` when given. */
  async release(id: unknown, failure?: unknown, ttlMs?: unknown): Promise<void> {
    const record = failure === undefined ? undefined : readFailureRecord(failure);
    if (!isLeaseId(id) || (failure !== undefined && (record === undefined || !isTtl(ttlMs)))) {
      throw new TypeError('release(id, failure?, ttlMs?): invalid arguments');
    }
    const now = Date.now();
    const state = await this.#load(now);
    const next: State = { ...state, lock: unlocked(state, id) };
    if (record !== undefined) next.failure = { record, until: now + (ttlMs as number) };
    await this.#save(next);
  }

  /** Drops the token if it is still `generation`; its generation stays until it would have ended. */
  async invalidate(generation: unknown): Promise<void> {
    if (!isGeneration(generation)) throw new TypeError('invalidate(generation): invalid arguments');
    const state = await this.#load(Date.now());
    if (state.token?.generation !== generation || state.token.value === undefined) return;
    await this.#save({ ...state, token: { ...state.token, value: undefined } });
  }

  /** The shared failure, if its code is one of `codes` and its cooldown lasts. */
  async getFailure(codes: unknown): Promise<FailureReply | undefined> {
    if (!isCodes(codes)) throw new TypeError('getFailure(codes): invalid arguments');
    const now = Date.now();
    const { failure } = await this.#load(now);
    if (failure === undefined || !codes.includes(String(failure.record.code))) return undefined;
    return { record: failure.record, ttlMs: Math.max(1, Math.ceil(failure.until - now)) };
  }

  /** Forgets the record once all of it has ended; else comes back when it will have. */
  override async alarm(): Promise<void> {
    const state = await this.#load(Date.now());
    const end = endOf(state);
    if (end === undefined) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(end);
  }

  async #load(now: number): Promise<State> {
    return readState(await this.ctx.storage.get(stateKey), now);
  }

  /** Writes the record, and makes sure an alarm comes when it has ended. */
  async #save(state: State): Promise<void> {
    await this.ctx.storage.put(stateKey, state);
    const end = endOf(state);
    if (end === undefined) return;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm < end) await this.ctx.storage.setAlarm(end);
  }
}

function isCodes(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= 16 &&
    value.every((code) => typeof code === 'string' && code.length <= 64)
  );
}

/** The lock, unless lease `id` holds it (compare-and-delete). */
function unlocked(state: State, id: string): State['lock'] {
  return state.lock?.id === id ? undefined : state.lock;
}

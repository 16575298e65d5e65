import { sleep, unrefTimer } from '../shared/abort.js';
import { ClientClosedError } from '../shared/errors.js';
import type { StoreErrorEvent } from '../shared/events.js';
import { scrubSecrets } from '../guards/redact.js';
import {
  asTokenFetchError,
  durableStateKey,
  durableStateMs,
  noteState,
  type Attempt,
  type Engine,
} from './engine.js';
import { loginWithRetries } from './login-attempts.js';
import { holdToken, type Held, type Obtained } from './token-lifetime.js';
import type { SharedFailure, StoredToken, TokenLease } from './token-store.js';

const storeDown: unique symbol = Symbol('store down');
/** How long past `loginTimeoutMs` another holder of the login lock is waited for. */
const lockWaitMarginMs = 2_000;
/**
 * With the store down, an instance that needs a token waits up to this long (at random)
 * before logging in on its own: a fleet whose shared token ran out together does not log
 * in in the same millisecond.
 */
const aloneJitterMs = 500;

/**
 * How instances sharing a store agree on one login (DESIGN "One token for the fleet"): take
 * a stored token if there is a usable one; honour a shared failure; else take the login
 * lock and log in under it, or wait for the holder's token. A store that fails or is slow
 * is reported (`store_error`), and a cache outage never fails a call: a background refresh
 * keeps the current token while it has time left (`whileStoreDown`), and an instance that
 * needs a token logs in on its own, after a little jitter.
 */
export async function obtainThroughStore(engine: Engine, attempt: Attempt): Promise<Held> {
  const { store, now } = engine;
  let key: string;
  try {
    key = await engine.key();
  } catch (error) {
    reportStoreError(
      engine,
      'get',
      `no store key: ${error instanceof Error ? error.message : String(error)}`,
    );
    return whileStoreDown(engine, attempt);
  }
  // A live holder's login ends within loginTimeoutMs; past that (plus a margin) it is
  // presumed dead, and this instance logs in on its own rather than let its calls wait
  // out the lock's TTL, which may be as long as the calls' own timeout.
  const waitUntil = now() + engine.loginTimeoutMs + lockWaitMarginMs;
  for (;;) {
    if (engine.closed) throw new ClientClosedError();
    const stored = await storeCall(engine, 'get', () => store.get(key));
    if (stored === storeDown) return whileStoreDown(engine, attempt);
    const adopted = adopt(engine, stored, attempt);
    if (adopted !== undefined) return adopted;

    const shared = await storeCall(engine, 'failure', () => store.getFailure(key));
    if (shared !== storeDown && shared !== undefined && shared.until > now()) {
      throw engine.cooldown.adopt(shared);
    }

    const lease = await storeCall(
      engine,
      'acquire',
      () => store.acquire(key),
      undefined,
      (late) => (late === undefined ? undefined : store.release(late)),
    );
    if (lease === storeDown) return whileStoreDown(engine, attempt);
    if (lease !== undefined) return loginUnderLease(engine, lease, attempt);

    // Another holder is logging in. A background refresh leaves it to them.
    const held = engine.current;
    if (held !== undefined && now() < held.useUntil) return held;
    if (now() >= waitUntil) {
      reportStoreError(engine, 'lock_wait', 'gave up waiting for another holder of the login lock');
      return loginAlone(engine, attempt);
    }
    await sleep(75 + engine.random() * 50, engine.life, attempt.alive);
  }
}

/** A stored token this instance may take instead of logging in. */
function adopt(
  engine: Engine,
  stored: StoredToken | undefined,
  attempt: Attempt,
): Held | undefined {
  if (stored === undefined) return undefined;
  // A rejected or expired token's state (a refresh token) is still the newest one.
  noteState(engine, stored.state, stored.generation, false);
  if (stored.generation <= engine.rejectedGeneration) return undefined;
  const current = engine.current;
  if (current !== undefined && stored.generation <= current.generation && attempt.background) {
    return undefined;
  }
  const held = holdToken(stored, engine.refreshAheadMs, engine.jitter);
  const now = engine.now();
  if (now >= (attempt.background ? held.refreshAt : held.useUntil)) return undefined;
  engine.emit({
    type: 'login',
    source: 'store',
    startedAt: attempt.startedAt,
    durationMs: now - attempt.startedAt,
    expiresAt: held.expiresAt,
    background: attempt.background,
  });
  return held;
}

async function loginUnderLease(engine: Engine, lease: TokenLease, attempt: Attempt): Promise<Held> {
  const { store } = engine;
  let obtained: Obtained;
  try {
    const again = await storeCall(engine, 'get', () => store.get(lease.key));
    const adopted = again === storeDown ? undefined : adopt(engine, again, attempt);
    if (adopted !== undefined) {
      await storeCall(engine, 'release', () => store.release(lease));
      return adopted;
    }
    if (engine.durableState) await readDurableState(engine, lease.key);
    obtained = await loginWithRetries(engine, attempt);
  } catch (error) {
    const failure = noteFailure(engine, error);
    await storeCall(engine, 'release', () => store.release(lease, failure));
    throw error;
  }
  // The newest state goes to its own key before the token is shared: whoever logs in next
  // reads it there, even once the token has expired from the store.
  if (engine.durableState && obtained.state !== undefined) {
    await writeDurableState(engine, lease.key, obtained.state);
  }
  const committed = await storeCall(
    engine,
    'commit',
    () => store.commit(lease, obtained),
    obtained.token,
  );
  noteState(engine, obtained.state, lease.generation, true);
  // A failed write must not leave the lock to its TTL: the others would wait it out.
  if (committed === storeDown) await storeCall(engine, 'release', () => store.release(lease));
  return holdToken(
    { ...obtained, generation: lease.generation },
    engine.refreshAheadMs,
    engine.jitter,
  );
}

/**
 * The durable state of `key` (the newest a lease holder wrote), taken as the state of the
 * next login: under the lock, nobody has written a newer one since.
 */
async function readDurableState(engine: Engine, key: string): Promise<void> {
  // A state of this instance's own that did not reach the store is the newest.
  if (engine.stateUnshared) return;
  const kept = await storeCall(engine, 'get', () => engine.store.get(durableStateKey(key)));
  if (kept === storeDown || kept === undefined) return;
  const seen = engine.state;
  engine.state = { value: kept.token, generation: seen?.generation ?? 0 };
}

/**
 * Keeps `state` under the durable key for `durableStateMs`. A failure is reported, and the
 * state stays this instance's own (`stateUnshared`) until a later write succeeds.
 */
async function writeDurableState(engine: Engine, key: string, state: string): Promise<void> {
  const { store } = engine;
  const stateKey = durableStateKey(key);
  engine.stateUnshared = true;
  const lease = await storeCall(engine, 'acquire', () => store.acquire(stateKey));
  if (lease === storeDown) return;
  if (lease === undefined) {
    reportStoreError(engine, 'commit', 'the durable state is locked by another writer');
    return;
  }
  const now = engine.now();
  const written = await storeCall(
    engine,
    'commit',
    () => store.commit(lease, { token: state, issuedAt: now, expiresAt: now + durableStateMs }),
    state,
  );
  if (written === storeDown) await storeCall(engine, 'release', () => store.release(lease));
  else engine.stateUnshared = false;
}

/**
 * The store did not answer. A background refresh of a token with time left keeps it: no
 * login now, the next try in a few seconds (the fleet does not log in because Redis
 * stalled). In the last half of the refresh window, or with no usable token, the instance
 * logs in on its own; one that must (no usable token) waits a random moment first, so that
 * instances whose shared token ran out together spread their logins.
 */
async function whileStoreDown(engine: Engine, attempt: Attempt): Promise<Held> {
  const held = engine.current;
  const now = engine.now();
  if (attempt.background && held !== undefined) {
    if (now < held.useUntil - (held.useUntil - held.refreshAt) / 2) return held;
    return loginAlone(engine, attempt);
  }
  await sleep(engine.random() * aloneJitterMs, engine.life, attempt.alive);
  return loginAlone(engine, attempt);
}

/** Logs in without the store (it is down, or its lock is stuck). */
async function loginAlone(engine: Engine, attempt: Attempt): Promise<Held> {
  let obtained: Obtained;
  try {
    obtained = await loginWithRetries(engine, attempt);
  } catch (error) {
    noteFailure(engine, error);
    throw error;
  }
  noteState(engine, obtained.state, 0, true);
  if (engine.durableState && obtained.state !== undefined) {
    // The store may be up (a stuck lock): the others must still find the newest state.
    const key = await engine.key().catch(() => undefined);
    if (key === undefined) engine.stateUnshared = true;
    else await writeDurableState(engine, key, obtained.state);
  }
  return holdToken({ ...obtained, generation: 0 }, engine.refreshAheadMs, engine.jitter);
}

/** Remembers a login failure (unless the engine is closed); returns what to share. */
function noteFailure(engine: Engine, error: unknown): SharedFailure | undefined {
  return engine.closed ? undefined : engine.cooldown.note(asTokenFetchError(error));
}

/**
 * One store operation; a failure, a throw or no answer within `loginTimeoutMs` is reported
 * as `store_error` and answered `storeDown`, never passed on. A store that never answers
 * (a custom store without its own timeout) must not hold calls for ever, nor `close()`:
 * closing the engine ends the wait too. What a late answer brings is handed to `late`
 * (a lease taken after its caller stopped waiting is released there).
 */
export async function storeCall<T>(
  engine: Engine,
  operation: StoreErrorEvent['operation'],
  call: () => Promise<T>,
  token?: string,
  late?: (value: T) => unknown,
): Promise<T | typeof storeDown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onClose: (() => void) | undefined;
  try {
    const answer = call();
    const outcome = await Promise.race([
      answer,
      new Promise<typeof noAnswer>((resolve) => {
        onClose = () => resolve(noAnswer);
        engine.life.addEventListener('abort', onClose);
        timer = setTimeout(resolve, engine.loginTimeoutMs, noAnswer);
        // Not what keeps a process alive: the call that awaits the store does that.
        unrefTimer(timer);
      }),
    ]);
    if (outcome !== noAnswer) return outcome;
    answer.then(late, ignore).catch(ignore);
    if (!engine.closed) {
      reportStoreError(engine, operation, `no answer within ${engine.loginTimeoutMs} ms`);
    }
    return storeDown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A store's error may quote what it was given: no token goes on into an event.
    reportStoreError(engine, operation, scrubSecrets(message, [token, engine.current?.token]));
    return storeDown;
  } finally {
    clearTimeout(timer);
    if (onClose !== undefined) engine.life.removeEventListener('abort', onClose);
  }
}

const noAnswer: unique symbol = Symbol('no answer');
const ignore = () => {};

function reportStoreError(
  engine: Engine,
  operation: StoreErrorEvent['operation'],
  message: string,
): void {
  engine.emit({ type: 'store_error', operation, message: message.slice(0, 200) });
}

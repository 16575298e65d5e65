/**
 * What the Durable Object keeps for its key, and what it answers: plain data, checked
 * field by field wherever it is read. A part that is not what this version writes is
 * dropped (a miss), never trusted and never a crash.
 */

/** A token as the Durable Object holds it. Times of the writer's clock, except `until`. */
export interface HeldToken {
  /** The generation of the last accepted write; kept after an invalidation, until `until`. */
  generation: number;
  /** The token; gone once it was invalidated. */
  value?:
    { token: string; issuedAt: number; expiresAt: number; state?: string | undefined } | undefined;
  /** When the Durable Object forgets it, on its own clock. */
  until: number;
}

/** The whole state of one key. Every part has an end (`until`); the generation ends with the rest. */
export interface State {
  /** The last generation a lease was given. */
  generation?: number | undefined;
  token?: HeldToken | undefined;
  lock?: { id: string; until: number } | undefined;
  /** A shared login failure as its writer recorded it (a `SharedFailure`, say). */
  failure?: { record: Record<string, unknown>; until: number } | undefined;
}

/** `get`'s answer: the token, its lifetime, and how long it still lives (ms). */
export interface TokenReply {
  generation: number;
  token: string;
  lifetimeMs: number;
  ttlMs: number;
  /** The strategy's state kept with the token (`StoredToken.state`), when it gave one. */
  state?: string;
}

/** `getFailure`'s answer: the failure as recorded, and how long it still lasts (ms). */
export interface FailureReply {
  record: Record<string, unknown>;
  ttlMs: number;
}

/** How long a stored entry may live at most: a day (a token lives minutes). */
export const maxTtlMs = 86_400_000;
const safeToken = /^[\x21-\x7E]+$/;
const failureCode = /^E_[A-Z_]{1,62}$/;
const maxTokenLength = 16_384;
const maxFailureLength = 2_048;

export function isGeneration(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

export function isTtl(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= maxTtlMs;
}

export function isLeaseId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

/** A strategy's state (a sealed refresh token): a string of bounded length. */
export function isState(value: unknown): value is string {
  return typeof value === 'string' && value.length <= maxTokenLength;
}

export function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= maxTokenLength && safeToken.test(value);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token's fields as a writer gives them, or `undefined`. */
export function readValue(value: unknown): HeldToken['value'] {
  if (!isObject(value)) return undefined;
  const { token, issuedAt, expiresAt, state } = value;
  if (!isToken(token) || !isTime(issuedAt) || !isTime(expiresAt) || expiresAt <= issuedAt) {
    return undefined;
  }
  return isState(state) ? { token, issuedAt, expiresAt, state } : { token, issuedAt, expiresAt };
}

/** A failure record worth keeping: a small JSON object whose `code` looks like `E_SOMETHING`. */
export function readFailureRecord(value: unknown): Record<string, unknown> | undefined {
  if (!isObject(value) || typeof value.code !== 'string' || !failureCode.test(value.code)) {
    return undefined;
  }
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (text.length > maxFailureLength) return undefined;
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * The stored state as this version reads it, without what has ended by `now`, and without
 * an end further away than any this version sets.
 */
export function readState(raw: unknown, now: number): State {
  if (!isObject(raw)) return {};
  const live = (until: unknown): until is number =>
    isTime(until) && until > now && until <= now + maxTtlMs;
  const state: State = {};
  if (isGeneration(raw.generation)) state.generation = raw.generation;
  const token = raw.token;
  if (isObject(token) && isGeneration(token.generation) && live(token.until)) {
    const value = readValue(token.value);
    state.token = { generation: token.generation, value, until: token.until };
  }
  const lock = raw.lock;
  if (isObject(lock) && isLeaseId(lock.id) && live(lock.until)) {
    state.lock = { id: lock.id, until: lock.until };
  }
  const failure = raw.failure;
  if (isObject(failure) && live(failure.until)) {
    const record = readFailureRecord(failure.record);
    if (record !== undefined) state.failure = { record, until: failure.until };
  }
  return state;
}

/** When everything in `state` has ended: the Durable Object may forget it all then. */
export function endOf(state: State): number | undefined {
  const ends = [state.token?.until, state.lock?.until, state.failure?.until].filter(
    (end): end is number => end !== undefined,
  );
  return ends.length === 0 ? undefined : Math.max(...ends);
}

/** `get`'s answer as the client reads it, or `undefined` (a miss). */
export function readTokenReply(reply: unknown): TokenReply | undefined {
  if (!isObject(reply)) return undefined;
  const { generation, token, lifetimeMs, ttlMs, state } = reply;
  if (!isGeneration(generation) || !isToken(token)) return undefined;
  if (!isTtl(lifetimeMs) || typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1) {
    return undefined;
  }
  const answer = { generation, token, lifetimeMs, ttlMs: Math.min(ttlMs, lifetimeMs) };
  return isState(state) ? { ...answer, state } : answer;
}

/** `getFailure`'s answer as the client reads it, or `undefined` (none). */
export function readFailureReply(reply: unknown): FailureReply | undefined {
  if (!isObject(reply) || !isTtl(reply.ttlMs)) return undefined;
  const record = readFailureRecord(reply.record);
  return record === undefined ? undefined : { record, ttlMs: reply.ttlMs };
}

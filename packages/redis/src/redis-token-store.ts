import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers';
import type { SharedFailure, StoredToken, TokenLease, TokenStore } from '@tokenfetch/core';
import { scrubSecrets, unrefTimer } from '@tokenfetch/core/adapter';
import { parseJsonObject } from './json-object.js';
import { parseOptions, type RedisTokenStoreOptions } from './options.js';
import type { ScriptRunner } from './redis-client.js';
import {
  acquireScript,
  commitScript,
  getFailureScript,
  getScript,
  invalidateScript,
  releaseScript,
} from './scripts.js';
import { encryptingCodec, plainCodec, type TokenCodec } from './token-codec.js';

type Operation = 'get' | 'acquire' | 'commit' | 'release' | 'invalidate' | 'getFailure';

interface Keys {
  token: string;
  lock: string;
  gen: string;
  fail: string;
}

/**
 * The failure codes this version shares. A failure recorded under another code (by a later
 * version) is neither reported nor obeyed here. Typed as a record so that a code added to
 * `SharedFailure` fails to compile until it is listed.
 */
const sharedCodes = Object.keys({
  E_INVALID_CREDENTIALS: true,
  E_NO_ACTIVE_ORG: true,
  E_INVALID_GRANT: true,
  E_LOGIN_FAILED: true,
} satisfies Record<SharedFailure['code'], true>);

/**
 * A `TokenStore` in Redis: every instance of a fleet shares one token, and one instance
 * logs in for all of them.
 *
 * Keys are `{prefix:key}:token`, `:lock`, `:gen` and `:fail`, one hash tag per set of
 * credentials (the key is a hash, so no email reaches Redis). Each operation is one Lua
 * script with a tight timeout: a slow or unreachable Redis is reported (`store_error`) and
 * the client goes on without it (keeping a token still valid, or logging in on its own),
 * never failing or hanging a call. A client still making its first connection is waited
 * for, within the same timeout.
 *
 * @example
 * const store = new RedisTokenStore({ redis: new Redis(process.env.REDIS_URL) });
 * const client = createApiClient({ baseUrl, auth, store });
 */
export class RedisTokenStore implements TokenStore {
  /** How long the login lock lasts if its holder dies. */
  readonly lockTtlMs: number;
  readonly #redis: ScriptRunner;
  readonly #prefix: string;
  readonly #codec: TokenCodec;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: RedisTokenStoreOptions) {
    const resolved = parseOptions(options);
    this.lockTtlMs = resolved.lockTtlMs;
    this.#redis = resolved.runner;
    this.#prefix = resolved.prefix;
    this.#timeoutMs = resolved.commandTimeoutMs;
    this.#now = resolved.now;
    this.#codec =
      resolved.encryptionKeys === undefined ? plainCodec : encryptingCodec(resolved.encryptionKeys);
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const keys = this.#keys(key);
    const reply = await this.#run('get', getScript, [keys.token], []);
    if (!Array.isArray(reply)) return undefined;
    const generation = text(reply[0]);
    const value = text(reply[1]);
    const ttlMs = toInteger(reply[2]);
    // Every write sets the key's TTL: a key without one was not written by a store.
    if (generation === undefined || value === undefined || ttlMs <= 0) return undefined;
    const stored = this.#codec.decode(keys.token, value);
    // A value copied over from another generation is not this one.
    if (stored === undefined || String(stored.generation) !== generation) return undefined;
    // The key expires with the token. Its TTL puts the token's times on this instance's
    // clock: the writer's clock may be minutes off it.
    const expiresAt = this.#now() + ttlMs;
    return { ...stored, issuedAt: expiresAt - (stored.expiresAt - stored.issuedAt), expiresAt };
  }

  async acquire(key: string): Promise<TokenLease | undefined> {
    const keys = this.#keys(key);
    const id = randomBytes(16).toString('hex');
    const reply = await this.#run(
      'acquire',
      acquireScript,
      [keys.lock, keys.gen, keys.token, keys.fail],
      [id, String(this.lockTtlMs), ...sharedCodes],
      // The lock may still be taken after we stopped waiting: give it back then.
      (late) => {
        if (toInteger(late) > 0) this.#send(releaseScript, [keys.lock, keys.fail], [id]);
      },
    );
    const generation = toInteger(reply);
    return generation > 0 ? { key, generation, id } : undefined;
  }

  async commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>): Promise<boolean> {
    const keys = this.#keys(lease.key);
    const stored: StoredToken = {
      token: token.token,
      issuedAt: token.issuedAt,
      expiresAt: token.expiresAt,
      generation: lease.generation,
      // The strategy's own state (a rotated refresh token, sealed by the strategy).
      ...(token.state === undefined ? {} : { state: token.state }),
    };
    const ttlMs = Math.max(1, Math.ceil(token.expiresAt - this.#now()));
    const reply = await this.#run(
      'commit',
      commitScript,
      [keys.token, keys.lock, keys.fail, keys.gen],
      [String(lease.generation), lease.id, this.#codec.encode(keys.token, stored), String(ttlMs)],
    );
    return toInteger(reply) === 1;
  }

  async release(lease: TokenLease, failure?: SharedFailure): Promise<void> {
    const keys = this.#keys(lease.key);
    const args = [lease.id];
    const ttlMs = failure === undefined ? 0 : Math.ceil(failure.until - this.#now());
    if (failure !== undefined && ttlMs > 0) {
      args.push(JSON.stringify(failure), String(ttlMs));
    }
    await this.#run('release', releaseScript, [keys.lock, keys.fail], args);
  }

  async invalidate(key: string, generation: number): Promise<void> {
    const keys = this.#keys(key);
    await this.#run('invalidate', invalidateScript, [keys.token], [String(generation)]);
  }

  async getFailure(key: string): Promise<SharedFailure | undefined> {
    const keys = this.#keys(key);
    const reply = await this.#run('getFailure', getFailureScript, [keys.fail], sharedCodes);
    if (!Array.isArray(reply)) return undefined;
    // The script has judged the record (and deleted a bad one): its code is one of ours.
    const code = text(reply[0]);
    const ttlMs = toInteger(reply[2]);
    if (code === undefined || !sharedCodes.includes(code) || ttlMs <= 0) return undefined;
    // The cooldown ends when the key does: the recorder's clock is not this instance's.
    const record = parseJsonObject(text(reply[1]));
    return { ...record, code, until: this.#now() + ttlMs } as SharedFailure;
  }

  #keys(key: string): Keys {
    if (typeof key !== 'string' || !/^[^\s{}]{1,200}$/.test(key)) {
      throw new TypeError('a store key must be 1 to 200 characters without `{`, `}` or whitespace');
    }
    const tag = `{${this.#prefix}:${key}}`;
    return { token: `${tag}:token`, lock: `${tag}:lock`, gen: `${tag}:gen`, fail: `${tag}:fail` };
  }

  /**
   * One script, within the command timeout, once the client's first connection is there
   * (waited for within another command timeout). The error names the operation and what
   * went wrong, never a value sent (tokens travel in the arguments).
   */
  #run(
    operation: Operation,
    script: string,
    keys: string[],
    args: string[],
    onLate?: (reply: unknown) => void,
  ): Promise<unknown> {
    const connecting = this.#redis.firstConnection();
    if (connecting === undefined) return this.#timed(operation, script, keys, args, onLate);
    return connecting.then(
      () => this.#timed(operation, script, keys, args, onLate),
      (error: unknown) => {
        throw new Error(`redis ${operation} failed: ${describe(error, args)}`);
      },
    );
  }

  #timed(
    operation: Operation,
    script: string,
    keys: string[],
    args: string[],
    onLate?: (reply: unknown) => void,
  ): Promise<unknown> {
    const sent = this.#eval(script, keys, args);
    return new Promise((resolve, reject) => {
      let settled = false;
      // Whichever comes first, the reply or the timeout, settles; the other is ignored.
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        finish();
      };
      const timer = setTimeout(() => {
        // A reply that already arrived but waits behind this timer (a busy event loop)
        // still wins: the timeout is decided after the loop has read the sockets.
        setImmediate(() =>
          settle(() => {
            if (onLate !== undefined) sent.then(onLate, () => {});
            // A Cluster client may be sending to a master that a replica has replaced.
            this.#redis.stalled();
            reject(new Error(`redis ${operation} timed out after ${this.#timeoutMs} ms`));
          }),
        );
      }, this.#timeoutMs);
      // Deno up to 2.7 (and Workers) give timers as numbers, without `unref()`.
      unrefTimer(timer);
      sent.then(
        (reply) => settle(() => resolve(reply)),
        (error: unknown) =>
          settle(() => {
            this.#redis.stalled();
            reject(new Error(`redis ${operation} failed: ${describe(error, args)}`));
          }),
      );
    });
  }

  /** Fire and forget, for clean-up nobody waits on (if Redis is gone, the lock expires). */
  #send(script: string, keys: string[], args: string[]): void {
    this.#eval(script, keys, args).catch(() => {});
  }

  /** Sends a script; a client that throws instead of rejecting rejects here. */
  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    try {
      return this.#redis.eval(script, keys, args);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

/** A safe integer from a reply, or 0 for anything else. */
function toInteger(value: unknown): number {
  const parsed =
    typeof value === 'number' || typeof value === 'bigint' ? Number(value) : Number(text(value));
  return Number.isSafeInteger(parsed) ? parsed : 0;
}

/**
 * The first line of an error message, without any of the values that were sent. Redacted
 * before it is cut: a value cut in two would no longer be found.
 */
function describe(error: unknown, args: readonly string[]): string {
  let message = error instanceof Error ? error.message : String(error);
  message = message.split('\n')[0] ?? '';
  // Short arguments (a generation, a TTL) are no secret, and would scrub ordinary words.
  return scrubSecrets(
    message,
    args.filter((arg) => arg.length >= 8),
  ).slice(0, 160);
}

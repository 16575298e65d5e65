import {
  ConfigError,
  defaults,
  type ConfigIssue,
  type SharedFailure,
  type StoredToken,
  type TokenLease,
  type TokenStore,
} from '@tokenfetch/core';
import { readFailureReply, readTokenReply } from './records.js';

/**
 * The parts of a Durable Object namespace binding (`env.TOKENS`) the store uses. Any
 * `DurableObjectNamespace` is one.
 */
export interface DurableObjectNamespaceLike<Id = unknown> {
  idFromName(name: string): Id;
  get(id: Id): object;
}

/** Options of `durableObjectStore`. */
export interface DurableObjectStoreOptions {
  /**
   * How long the login lock lasts if its holder dies (its isolate is evicted mid-login).
   * Keep it above the client's `loginTimeoutMs` (10 s by default).
   * @default 30_000
   */
  lockTtlMs?: number | undefined;
  /**
   * Each call to the Durable Object fails after this long, and the client logs in on its
   * own instead (reporting `store_error`).
   * @default 1_000
   */
  timeoutMs?: number | undefined;
  /**
   * The clock the client's times are on: give the store the `now` you give the client.
   * Lifetimes and cooldowns travel as durations and become times on this clock.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/** The RPC methods of `TokenfetchStore`, as its stub offers them. */
interface StoreStub {
  getToken(): Promise<unknown>;
  acquire(id: string, lockTtlMs: number, codes: string[]): Promise<unknown>;
  commit(generation: number, id: string, token: object, ttlMs: number): Promise<unknown>;
  release(id: string, failure?: object, ttlMs?: number): Promise<unknown>;
  invalidate(generation: number): Promise<unknown>;
  getFailure(codes: string[]): Promise<unknown>;
}

type Operation = 'get' | 'acquire' | 'commit' | 'release' | 'invalidate' | 'getFailure';

/**
 * The failure codes this version shares. A failure recorded under another code (by a later
 * version) is neither reported nor obeyed here.
 */
const sharedCodes = Object.keys({
  E_INVALID_CREDENTIALS: true,
  E_NO_ACTIVE_ORG: true,
  E_INVALID_GRANT: true,
  E_LOGIN_FAILED: true,
} satisfies Record<SharedFailure['code'], true>);

/**
 * A `TokenStore` for Cloudflare Workers: every isolate, in every location, shares one token
 * through the `TokenfetchStore` Durable Object of each key, and one of them logs in for
 * all. `namespace` is the binding of that class (`env.TOKENS`); export the class from your
 * worker. Nothing is called until the client needs the store (a miss, an expiry, a 401),
 * so it may be made at module scope.
 *
 * @example
 * import { env } from 'cloudflare:workers';
 * app.use(authMiddleware({ ...loadOptionsFromEnv(), store: durableObjectStore(env.TOKENS) }));
 */
export function durableObjectStore<Id>(
  namespace: DurableObjectNamespaceLike<Id>,
  options: DurableObjectStoreOptions = {},
): TokenStore {
  const { lockTtlMs, timeoutMs, now } = parseOptions(namespace, options);

  const stub = (key: string): StoreStub => {
    if (typeof key !== 'string' || key.length === 0 || key.length > 1_000) {
      throw new TypeError('a store key must be a string of 1 to 1000 characters');
    }
    // Made per call: a stub belongs to the request that made it.
    return namespace.get(namespace.idFromName(key)) as StoreStub;
  };

  /**
   * One call, within `timeoutMs`. The error names the operation, never a value sent.
   * `onLate` sees a reply that came after the timeout.
   */
  function run<T>(
    operation: Operation,
    send: () => Promise<T>,
    onLate?: (reply: T) => void,
  ): Promise<T> {
    let sent: Promise<T>;
    try {
      sent = send();
    } catch (error) {
      return Promise.reject(failed(operation, error));
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (onLate !== undefined) sent.then(onLate, () => {});
        reject(new Error(`durable object ${operation} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      sent.then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(failed(operation, error));
        },
      );
    });
  }

  return {
    async get(key) {
      const reply = readTokenReply(await run('get', () => stub(key).getToken()));
      if (reply === undefined) return undefined;
      // Its end on this instance's clock: the Durable Object's may differ.
      const expiresAt = now() + reply.ttlMs;
      return {
        token: reply.token,
        issuedAt: expiresAt - reply.lifetimeMs,
        expiresAt,
        generation: reply.generation,
        ...(reply.state === undefined ? {} : { state: reply.state }),
      };
    },

    async acquire(key) {
      const id = crypto.randomUUID();
      const generation = await run(
        'acquire',
        () => stub(key).acquire(id, lockTtlMs, sharedCodes),
        // The lock may still be taken after we stopped waiting: give it back then.
        (late) => {
          if (typeof late === 'number' && late > 0) {
            stub(key)
              .release(id)
              .catch(() => {});
          }
        },
      );
      if (generation === 0) return undefined;
      if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) {
        throw new Error('durable object acquire answered something that is not a generation');
      }
      return { key, generation, id };
    },

    async commit(lease: TokenLease, token: Omit<StoredToken, 'generation'>) {
      const ttlMs = Math.ceil(token.expiresAt - now());
      const value = {
        token: token.token,
        issuedAt: token.issuedAt,
        expiresAt: token.expiresAt,
        // The strategy's own state (a rotated refresh token, sealed by the strategy).
        ...(token.state === undefined ? {} : { state: token.state }),
      };
      if (ttlMs < 1) {
        await run('release', () => stub(lease.key).release(lease.id));
        return false;
      }
      const reply = await run('commit', () =>
        stub(lease.key).commit(lease.generation, lease.id, value, Math.min(ttlMs, 86_400_000)),
      );
      return reply === 1;
    },

    async release(lease: TokenLease, failure?: SharedFailure) {
      const ttlMs = failure === undefined ? 0 : Math.ceil(failure.until - now());
      await run('release', () =>
        failure !== undefined && ttlMs > 0
          ? stub(lease.key).release(lease.id, { ...failure }, Math.min(ttlMs, 86_400_000))
          : stub(lease.key).release(lease.id),
      );
    },

    async invalidate(key, generation) {
      await run('invalidate', () => stub(key).invalidate(generation));
    },

    async getFailure(key) {
      const reply = readFailureReply(
        await run('getFailure', () => stub(key).getFailure(sharedCodes)),
      );
      const code = reply?.record.code;
      if (reply === undefined || typeof code !== 'string' || !sharedCodes.includes(code)) {
        return undefined;
      }
      // The cooldown ends when the Durable Object says, on this instance's clock.
      return { ...reply.record, code, until: now() + reply.ttlMs } as SharedFailure;
    },
  };
}

function parseOptions(
  namespace: unknown,
  options: DurableObjectStoreOptions,
): { lockTtlMs: number; timeoutMs: number; now: () => number } {
  const issues: ConfigIssue[] = [];
  const binding = namespace as Partial<DurableObjectNamespaceLike> | null | undefined;
  if (typeof binding?.idFromName !== 'function' || typeof binding.get !== 'function') {
    issues.push({
      path: 'namespace',
      message:
        'must be the Durable Object namespace binding of TokenfetchStore (env.TOKENS): is the binding in your wrangler config?',
    });
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError([{ path: 'options', message: 'must be an object' }], invalid);
  }
  const known = new Set(['lockTtlMs', 'timeoutMs', 'now']);
  for (const name of Object.keys(options)) {
    if (!known.has(name)) issues.push({ path: name, message: 'unknown option' });
  }
  const lockTtlMs = integer(
    options.lockTtlMs,
    defaults.lockTtlMs,
    100,
    3_600_000,
    'lockTtlMs',
    issues,
  );
  const timeoutMs = integer(options.timeoutMs, 1_000, 1, 60_000, 'timeoutMs', issues);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') issues.push({ path: 'now', message: 'must be a function' });
  if (issues.length > 0) throw new ConfigError(issues, invalid);
  return { lockTtlMs, timeoutMs, now };
}

const invalid = 'invalid durableObjectStore options';

function integer(
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  path: string,
  issues: ConfigIssue[],
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    issues.push({ path, message: `must be an integer from ${min} to ${max} (milliseconds)` });
    return fallback;
  }
  return value;
}

/** The error of a failed call: its operation and the first line of what went wrong. */
function failed(operation: Operation, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`durable object ${operation} failed: ${message.split('\n')[0]?.slice(0, 160)}`);
}

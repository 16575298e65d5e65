import { Buffer } from 'node:buffer';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigError, type ConfigIssue } from '@tokenfetch/core';
import { scriptRunnerFor, type RedisClientLike, type ScriptRunner } from './redis-client.js';

/** Options of `RedisTokenStore`. */
export interface RedisTokenStoreOptions {
  /**
   * The Redis connection: an ioredis `Redis` or `Cluster`, or a node-redis client
   * (`createClient`, `createCluster`). The store never configures or closes it. Until the
   * client has been ready once, a command that finds it connecting waits for that
   * connection, within `commandTimeoutMs` (so a fleet that starts at once shares its first
   * login); an ioredis client made with `lazyConnect` is connected by the store's first
   * command. After that, a client that is not ready is not waited for. Give node-redis an
   * `'error'` listener, as node-redis requires.
   * @example new Redis(process.env.REDIS_URL)
   * @example await createClient({ url: process.env.REDIS_URL }).on('error', log).connect()
   */
  redis: RedisClientLike;
  /**
   * Start of every key, inside the Cluster hash tag: `{prefix:<sha256>}:token`. Use one
   * per environment if several share a Redis. No `{`, `}` or whitespace.
   * @default 'tokenfetch'
   * @example 'billing-prod'
   */
  prefix?: string | undefined;
  /**
   * Encrypt tokens at rest (AES-256-GCM). Key id → 32-byte key, as a `Buffer`/`Uint8Array`
   * or a base64 string. The first entry encrypts; every entry decrypts, so rotate by putting
   * the new key first and keeping the old one until its tokens have expired (one token
   * lifetime: the strategy's `ttlMs`, 15 minutes by default).
   * Ids: letters, digits, `.`, `_`, `-`, not all digits (JavaScript puts numeric keys
   * first, whatever order you wrote them in).
   * @default undefined (tokens are stored as plain JSON)
   * @example { k2025b: process.env.TOKEN_KEY_B!, k2025a: process.env.TOKEN_KEY_A! }
   */
  encryptionKeys?: Readonly<Record<string, Uint8Array | string>> | undefined;
  /**
   * How long the login lock lasts if its holder dies. Keep it above the client's
   * `loginTimeoutMs` (10 s by default): a live holder must finish before its lock expires.
   * @default 30_000
   */
  lockTtlMs?: number | undefined;
  /**
   * Each Redis command fails after this long, and the client logs in on its own instead
   * (reporting `store_error`). A command is never queued while the connection is down; it
   * waits (within this time) only for the client's first connection.
   * @default 250
   */
  commandTimeoutMs?: number | undefined;
  /**
   * The clock the client's times are on: give the store the `now` you give the client.
   * Cooldowns and token lifetimes are shared as Redis TTLs and turned into times on this
   * clock when read, so instances whose clocks disagree still agree on them.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/** Options after validation. */
export interface ResolvedOptions {
  runner: ScriptRunner;
  prefix: string;
  encryptionKeys: ReadonlyMap<string, KeyObject> | undefined;
  lockTtlMs: number;
  commandTimeoutMs: number;
  now: () => number;
}

const known = new Set([
  'redis',
  'prefix',
  'encryptionKeys',
  'lockTtlMs',
  'commandTimeoutMs',
  'now',
]);
const keyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const base64Pattern = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Validates the options; one `ConfigError` lists every problem. */
export function parseOptions(options: RedisTokenStoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      [{ path: 'options', message: 'must be an object with a `redis` client' }],
      'invalid RedisTokenStore options',
    );
  }
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(options)) {
    if (!known.has(name)) issues.push({ path: name, message: 'unknown option' });
  }

  const timeoutIssues: ConfigIssue[] = [];
  const commandTimeoutMs = integer(
    options.commandTimeoutMs,
    250,
    1,
    60_000,
    'commandTimeoutMs',
    timeoutIssues,
  );
  // The first connection is waited for within one command's time.
  const runner = scriptRunnerFor(options.redis, commandTimeoutMs);
  if (runner === undefined) {
    issues.push({
      path: 'redis',
      message:
        'must be an ioredis instance (Redis or Cluster) or a node-redis client (createClient or createCluster)',
    });
  }

  const prefix = options.prefix ?? 'tokenfetch';
  if (typeof prefix !== 'string' || !/^[^\s{}]{1,100}$/.test(prefix)) {
    issues.push({
      path: 'prefix',
      message: 'must be 1 to 100 characters without `{`, `}` or whitespace',
    });
  }

  const lockTtlMs = integer(options.lockTtlMs, 30_000, 100, 3_600_000, 'lockTtlMs', issues);
  issues.push(...timeoutIssues);
  const encryptionKeys = parseKeys(options.encryptionKeys, issues);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') issues.push({ path: 'now', message: 'must be a function' });

  if (issues.length > 0 || runner === undefined) {
    throw new ConfigError(issues, 'invalid RedisTokenStore options');
  }
  return { runner, prefix, encryptionKeys, lockTtlMs, commandTimeoutMs, now };
}

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

function parseKeys(value: unknown, issues: ConfigIssue[]): Map<string, KeyObject> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({
      path: 'encryptionKeys',
      message: 'must be an object of key id → 32-byte key (Buffer, Uint8Array or base64 string)',
    });
    return undefined;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) {
    issues.push({ path: 'encryptionKeys', message: 'must hold at least one key' });
  }
  const keys = new Map<string, KeyObject>();
  for (const [id, key] of entries) {
    const path = `encryptionKeys.${id}`;
    if (!keyIdPattern.test(id) || /^\d+$/.test(id)) {
      issues.push({
        path,
        message:
          'key id must be 1 to 64 letters, digits, `.`, `_` or `-`, and not all digits (numeric ids would change which key encrypts)',
      });
      continue;
    }
    const bytes = keyBytes(key);
    if (bytes === undefined) {
      issues.push({
        path,
        message: 'must be a 32-byte key: a Buffer, a Uint8Array or a base64 string of 32 bytes',
      });
      continue;
    }
    keys.set(id, createSecretKey(bytes));
    bytes.fill(0);
  }
  return keys;
}

function keyBytes(key: unknown): Buffer | undefined {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string' && base64Pattern.test(key.trim())) {
    bytes = Buffer.from(key.trim(), 'base64');
  }
  return bytes?.length === 32 ? bytes : undefined;
}

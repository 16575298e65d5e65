/**
 * The parts of an ioredis `Redis` or `Cluster` the store uses. Declared here so that
 * neither client is needed to type-check or run the package.
 */
export interface IoRedisLike {
  /** `'ready'` once connected; anything else and the store does not send. */
  readonly status: string;
  eval(...args: never[]): unknown;
  connect?(...args: never[]): unknown;
}

/** The parts of a node-redis client (`createClient`, `createCluster`) the store uses. */
export interface NodeRedisLike {
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  eval(...args: never[]): unknown;
}

/** An ioredis instance or a node-redis client. */
export type RedisClientLike = IoRedisLike | NodeRedisLike;

/** The one thing the store asks of a Redis client, whichever library it comes from. */
export interface ScriptRunner {
  /** Runs `script`; throws at once when the connection is not ready (no offline queue). */
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}

type IoRedisEval = (script: string, numKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;
type NodeRedisEval = (
  script: string,
  options: { keys: string[]; arguments: string[] },
) => Promise<unknown>;

type NodeRedisClusterSend = (
  firstKey: string | undefined,
  isReadonly: boolean | undefined,
  args: string[],
) => Promise<unknown>;

/**
 * A node-redis cluster (v4 or v5: `sendCommand(firstKey, isReadonly, args)`, no `isReady`)
 * is sent `EVAL` routed by its first key. node-redis v4's cluster `eval()` routes by no key
 * at all (its key finder is handed the script instead of the options): each script went to
 * a random node, came back MOVED, and cost a slot map read, and some failed after their
 * redirections ran out.
 */
function clusterSend(redis: object): ScriptRunner['eval'] | undefined {
  const cluster = redis as { isReady?: unknown; sendCommand?: unknown; getSlotMaster?: unknown };
  if (
    typeof cluster.isReady === 'boolean' ||
    typeof cluster.sendCommand !== 'function' ||
    typeof cluster.getSlotMaster !== 'function'
  ) {
    return undefined;
  }
  const send = cluster.sendCommand as NodeRedisClusterSend;
  return (script, keys, args) =>
    send.call(redis, keys[0], false, ['EVAL', script, String(keys.length), ...keys, ...args]);
}

/** Wraps an ioredis or node-redis client, or returns `undefined` for anything else. */
export function scriptRunnerFor(redis: unknown): ScriptRunner | undefined {
  if (typeof redis !== 'object' || redis === null) return undefined;
  const client = redis as Record<string, unknown>;
  if (typeof client.eval !== 'function') return undefined;

  if (typeof client.isOpen === 'boolean') {
    const nodeRedis = redis as NodeRedisLike;
    const evaluate = client.eval as NodeRedisEval;
    return guarded(
      () => {
        // A cluster client has no `isReady`; `isOpen` is the best it says.
        const ready = typeof nodeRedis.isReady === 'boolean' ? nodeRedis.isReady : nodeRedis.isOpen;
        if (ready) return undefined;
        return nodeRedis.isOpen ? 'connecting' : 'closed';
      },
      clusterSend(redis) ??
        ((script, keys, args) =>
          evaluate.call(redis, script, { keys: [...keys], arguments: [...args] })),
    );
  }

  if (typeof client.status === 'string') {
    const ioRedis = redis as IoRedisLike;
    const evaluate = client.eval as IoRedisEval;
    return guarded(
      () => {
        const status = ioRedis.status;
        if (status === 'ready') return undefined;
        // `lazyConnect`: the first command is what connects; start it, do not queue behind it.
        if (status === 'wait' && typeof ioRedis.connect === 'function') connectLazily(ioRedis);
        return status;
      },
      (script, keys, args) => evaluate.call(redis, script, keys.length, ...keys, ...args),
    );
  }

  return undefined;
}

/** A runner that sends only while `notReady()` says nothing (its answer: why not). */
function guarded(notReady: () => string | undefined, send: ScriptRunner['eval']): ScriptRunner {
  return {
    eval(script, keys, args) {
      const status = notReady();
      if (status !== undefined) return Promise.reject(notConnected(status));
      return send(script, keys, args);
    },
  };
}

function connectLazily(redis: IoRedisLike): void {
  try {
    Promise.resolve((redis.connect as () => unknown).call(redis)).catch(() => {});
  } catch {
    // Already connecting: the next command finds it ready.
  }
}

function notConnected(status: string): Error {
  return new Error(`redis is not connected (${status})`);
}

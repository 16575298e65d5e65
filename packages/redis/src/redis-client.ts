import { unrefTimer } from '@tokenfetch/core/adapter';

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
  /**
   * `undefined` when a script can be sent now, or will never wait (the client is ready, or
   * has been ready once, or is not connecting); else the client's first connection, which
   * resolves once it is ready and rejects (not connected) when the attempt fails or takes
   * longer than the wait the runner was made with.
   */
  firstConnection(): Promise<void> | undefined;
  /**
   * A script sent through `eval` got no answer in time, or failed: a Cluster client may be
   * talking to a master that is frozen or gone while a replica has taken over. A connected
   * Cluster client is asked to read the slot map again (at most once a second); other
   * clients are left alone.
   */
  stalled(): void;
}

/** How often a stalled Cluster client is asked to read the slot map again, at most. */
const slotRefreshIntervalMs = 1_000;

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

/**
 * Wraps an ioredis or node-redis client, or returns `undefined` for anything else.
 * `connectWaitMs` bounds how long a script waits for the client's first connection.
 */
export function scriptRunnerFor(redis: unknown, connectWaitMs = 0): ScriptRunner | undefined {
  if (typeof redis !== 'object' || redis === null) return undefined;
  const client = redis as Record<string, unknown>;
  if (typeof client.eval !== 'function') return undefined;

  if (typeof client.isOpen === 'boolean') {
    const nodeRedis = redis as NodeRedisLike;
    const evaluate = client.eval as NodeRedisEval;
    return guarded(
      rediscoveryOf(redis),
      () => {
        // A cluster client has no `isReady`; `isOpen` is the best it says.
        const ready = typeof nodeRedis.isReady === 'boolean' ? nodeRedis.isReady : nodeRedis.isOpen;
        if (ready) return undefined;
        return nodeRedis.isOpen ? 'connecting' : 'closed';
      },
      clusterSend(redis) ??
        ((script, keys, args) =>
          evaluate.call(redis, script, { keys: [...keys], arguments: [...args] })),
      // Open and not ready: a connection attempt, or a wait between two (node-redis says
      // which only by its `reconnecting` event, which ends a wait).
      { redis, waitMs: connectWaitMs, connecting: (status) => status === 'connecting' },
    );
  }

  if (typeof client.status === 'string') {
    const ioRedis = redis as IoRedisLike;
    const evaluate = client.eval as IoRedisEval;
    return guarded(
      slotRefreshOf(redis),
      () => {
        const status = ioRedis.status;
        if (status === 'ready') return undefined;
        // `lazyConnect`: the first command is what connects; start it, do not queue behind it.
        if (status === 'wait' && typeof ioRedis.connect === 'function') connectLazily(ioRedis);
        return status;
      },
      (script, keys, args) => evaluate.call(redis, script, keys.length, ...keys, ...args),
      // `reconnecting`, `close` and `end` follow an attempt that failed: no wait there.
      { redis, waitMs: connectWaitMs, connecting: (status) => connectingStatuses.has(status) },
    );
  }

  return undefined;
}

/** ioredis statuses of a connection attempt under way (`wait`: a lazy one, started). */
const connectingStatuses = new Set(['wait', 'connecting', 'connect']);

/** How a runner waits for a client's first connection. */
interface FirstConnection {
  /** The client, whose `ready` and `reconnecting`/`close`/`end` events end a wait early. */
  redis: object;
  /** At most this long; 0: no wait. */
  waitMs: number;
  /** Whether a not-ready status is an attempt under way (worth waiting for). */
  connecting(status: string): boolean;
}

/**
 * A runner that sends only while `notReady()` says nothing (its answer: why not), and
 * that asks a Cluster client to `refresh` its slot map when a script stalls.
 *
 * Until the client has been seen ready once, a script that finds it connecting waits for
 * that connection, up to `first.waitMs` (the store's command timeout): a fleet that starts
 * at once makes its first calls while every client is still connecting, and would
 * otherwise log in instance by instance. Once the client has been ready, nothing waits:
 * a client reconnecting after an outage is a Redis that is down, and the instance goes on
 * without it at once.
 */
function guarded(
  refresh: (() => void) | undefined,
  notReady: () => string | undefined,
  send: ScriptRunner['eval'],
  first: FirstConnection,
): ScriptRunner {
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let seenReady = false;
  let waiting: Promise<void> | undefined;
  return {
    eval(script, keys, args) {
      const status = notReady();
      if (status !== undefined) return Promise.reject(notConnected(status));
      seenReady = true;
      return send(script, keys, args);
    },
    firstConnection() {
      if (seenReady || first.waitMs <= 0) return undefined;
      const status = notReady();
      if (status === undefined || !first.connecting(status)) return undefined;
      // One wait, however many scripts are waiting.
      waiting ??= waitForConnection(first, notReady).finally(() => (waiting = undefined));
      return waiting;
    },
    stalled() {
      // A client that is not connected was sent nothing, and reconnects on its own.
      if (refresh === undefined || notReady() !== undefined) return;
      const now = performance.now();
      if (now - refreshedAt < slotRefreshIntervalMs) return;
      refreshedAt = now;
      try {
        refresh();
      } catch {
        // A client that cannot refresh now is asked again at the next stall.
      }
    },
  };
}

/**
 * An ioredis `Cluster` reads its slot map again with `refreshSlotsCache()` (its own
 * `slotsRefreshTimeout` bounds each node it asks). Without that, a Cluster whose
 * `slotsRefreshInterval` is unset (ioredis 5's default) keeps sending to a frozen master
 * until it answers again.
 */
function slotRefreshOf(redis: object): (() => void) | undefined {
  const cluster = redis as { refreshSlotsCache?: unknown };
  if (typeof cluster.refreshSlotsCache !== 'function') return undefined;
  return () => (cluster.refreshSlotsCache as () => void).call(redis);
}

interface NodeRedisClusterLike {
  masters?: unknown;
  _slots?: { rediscover?: unknown };
}

interface NodeRedisNodeClient {
  isReady?: boolean;
  ping(): Promise<unknown>;
}

/**
 * A node-redis v5 cluster reads its slot map only when a node answers MOVED or ASK: one that
 * is frozen or dead never does, so without help it never follows a failover (node-redis
 * issue 2806). Its slot map is read again (`_slots.rediscover`, public in its types) from
 * the first master that answers a PING: never from a frozen one, whose answer would never
 * come and would hold every later rediscovery behind it. node-redis v4 keeps its slot map
 * private; nothing is done there.
 */
function rediscoveryOf(redis: object): (() => void) | undefined {
  const cluster = redis as NodeRedisClusterLike;
  const slots = cluster._slots;
  if (typeof slots?.rediscover !== 'function' || !Array.isArray(cluster.masters)) return undefined;
  const rediscover = slots.rediscover as (startWith: unknown) => Promise<unknown>;
  return () => {
    const clients = (cluster.masters as Array<{ client?: NodeRedisNodeClient }>)
      .map((master) => master.client)
      .filter((client) => client?.isReady === true && typeof client.ping === 'function');
    firstToAnswer(clients as NodeRedisNodeClient[], pingTimeoutMs)
      .then((client) => (client === undefined ? undefined : rediscover.call(slots, client)))
      .catch(() => {});
  };
}

const pingTimeoutMs = 500;

/** The first client whose PING answers within `timeoutMs`, or undefined. */
function firstToAnswer(
  clients: readonly NodeRedisNodeClient[],
  timeoutMs: number,
): Promise<NodeRedisNodeClient | undefined> {
  if (clients.length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let pending = clients.length;
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    // Not `timer.unref()`: Deno up to 2.7 gives timers as numbers.
    unrefTimer(timer);
    const done = (client: NodeRedisNodeClient | undefined) => {
      if (client !== undefined) {
        clearTimeout(timer);
        resolve(client);
      } else if (--pending === 0) {
        clearTimeout(timer);
        resolve(undefined);
      }
    };
    for (const client of clients) {
      Promise.resolve()
        .then(() => client.ping())
        .then(
          () => done(client),
          () => done(undefined),
        );
    }
  });
}

interface Emitter {
  on(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

function isEmitter(value: object): value is Emitter {
  const emitter = value as Partial<Record<keyof Emitter, unknown>>;
  return typeof emitter.on === 'function' && typeof emitter.removeListener === 'function';
}

/** How often the status is read again while waiting (for a client that emits nothing). */
const statusPollMs = 20;

/**
 * Resolves once `notReady()` says nothing; rejects (not connected, with the status) when the
 * status stops being a connection under way, or after `first.waitMs`. Listens to the
 * client's `ready`, `reconnecting`, `close` and `end` (never `error`, whose listeners change
 * what the client does with an error), and reads the status between them.
 */
function waitForConnection(
  first: FirstConnection,
  notReady: () => string | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const emitter = isEmitter(first.redis) ? first.redis : undefined;
    const check = (attemptEnded: boolean) => {
      const status = notReady();
      if (status === undefined) return finish();
      if (attemptEnded || !first.connecting(status)) return finish(status);
    };
    const onReady = () => check(false);
    const onEnded = () => check(true);
    const poll = setInterval(() => check(false), statusPollMs);
    const timer = setTimeout(() => finish(notReady() ?? 'ready'), first.waitMs);
    unrefTimer(poll);
    unrefTimer(timer);
    emitter?.on('ready', onReady);
    for (const event of endedEvents) emitter?.on(event, onEnded);
    function finish(status?: string): void {
      clearInterval(poll);
      clearTimeout(timer);
      emitter?.removeListener('ready', onReady);
      for (const event of endedEvents) emitter?.removeListener(event, onEnded);
      if (status === undefined || status === 'ready') resolve();
      else reject(notConnected(status));
    }
  });
}

/** Events after which a connection attempt has failed. */
const endedEvents = ['reconnecting', 'close', 'end'] as const;

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

// A real Redis Sentinel group of private processes: a master, its replicas and three
// sentinels that watch it, on free ports in a temporary directory. Node built-ins only
// (see redis-process.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  call,
  info,
  startRedisProcess,
  temporaryDirectory,
  waitFor,
  withFreePorts,
  type RedisProcess,
} from './redis-process.js';

export interface RedisSentinelGroup {
  /** The name the sentinels monitor the master under. */
  readonly name: string;
  /** The data servers: the first master first, then its replicas. */
  readonly servers: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** The sentinels' addresses, as a client's `sentinels` list. */
  readonly sentinelAddresses: ReadonlyArray<{ host: string; port: number }>;
  /** `down-after-milliseconds`: how long a silent master is given before a failover starts. */
  readonly downAfterMs: number;
  /** The master the first answering sentinel names now. */
  currentMaster(): Promise<RedisProcess>;
  /**
   * Waits until another server than `formerMaster` says it is a master (`ROLE`), polling
   * every 10 ms: the moment of the promotion (epoch ms), and the new master.
   */
  waitForPromotion(
    formerMaster: RedisProcess,
    timeoutMs?: number,
  ): Promise<{ master: RedisProcess; at: number }>;
  /** Kills every process and removes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts a master, `replicas` replicas and `sentinels` sentinels (quorum: a majority),
 * and waits until the replicas are in sync and every sentinel knows every replica and
 * every other sentinel (`SENTINEL CKQUORUM` answers OK). `downAfterMs` and
 * `failoverTimeoutMs` are the sentinels' `down-after-milliseconds` and `failover-timeout`.
 */
export async function startRedisSentinel(
  options: {
    replicas?: number;
    sentinels?: number;
    downAfterMs?: number;
    failoverTimeoutMs?: number;
  } = {},
): Promise<RedisSentinelGroup> {
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const downAfterMs = options.downAfterMs ?? 1_000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 10_000;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const name = 'tokenfetch';
  const dir = temporaryDirectory('sentinel');
  const servers: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  const stopAll = async () => {
    for (const p of [...sentinels, ...servers]) await p.kill();
    dir.remove();
  };
  try {
    const master = await withFreePorts(1, ([port = 0]) =>
      startRedisProcess({ port, dir: dir.path }),
    );
    servers.push(master);
    for (let i = 0; i < replicaCount; i++) {
      servers.push(
        await withFreePorts(1, ([port = 0]) =>
          startRedisProcess({
            port,
            dir: dir.path,
            args: ['--replicaof', '127.0.0.1', String(master.port)],
          }),
        ),
      );
    }
    // Sentinels learn the replicas from the master's INFO, which they read every 10 s:
    // start them once the replicas are attached, so the first read finds them all.
    await waitFor('the replicas to sync with the master', async () => {
      const replication = await info(master.port, 'replication', 500);
      if (Number(replication.get('connected_slaves')) !== replicaCount) return false;
      for (const replica of servers.slice(1)) {
        const state = await info(replica.port, 'replication', 500);
        if (state.get('master_link_status') !== 'up') return false;
      }
      return true;
    });

    for (let i = 0; i < sentinelCount; i++) {
      const sentinel = await withFreePorts(1, ([port = 0]) => {
        const config = join(dir.path, `sentinel-${port}.conf`);
        writeFileSync(
          config,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${dir.path}`,
            `logfile ${join(dir.path, `sentinel-${port}.log`)}`,
            `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
            `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
            `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        return startRedisProcess({ port, dir: dir.path, sentinelConfig: config });
      });
      sentinels.push(sentinel);
    }
    await waitFor(
      'every sentinel to know every replica and every other sentinel',
      async () => {
        for (const sentinel of sentinels) {
          const known = await call(sentinel.port, ['SENTINEL', 'SENTINELS', name], 500);
          const replicas = await call(sentinel.port, ['SENTINEL', 'REPLICAS', name], 500);
          if (!Array.isArray(known) || known.length !== sentinelCount - 1) return false;
          if (!Array.isArray(replicas) || replicas.length !== replicaCount) return false;
          const check = await call(sentinel.port, ['SENTINEL', 'CKQUORUM', name], 500);
          if (!String(check).startsWith('OK')) return false;
        }
        return true;
      },
      20_000,
      50,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    name,
    servers,
    sentinels,
    sentinelAddresses: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    downAfterMs,
    async currentMaster() {
      for (const sentinel of sentinels) {
        if (sentinel.frozen || !sentinel.alive) continue;
        try {
          const reply = await call(
            sentinel.port,
            ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name],
            500,
          );
          const port = Array.isArray(reply) ? Number(reply[1]) : 0;
          const server = servers.find((s) => s.port === port);
          if (server !== undefined) return server;
        } catch {
          // ask the next
        }
      }
      throw new Error('no sentinel names a master');
    },
    async waitForPromotion(formerMaster, timeoutMs = 30_000) {
      let promoted: RedisProcess | undefined;
      await waitFor(
        `a replica of :${formerMaster.port} to become master`,
        async () => {
          for (const server of servers) {
            if (server === formerMaster || server.frozen || !server.alive) continue;
            const role = await call(server.port, ['ROLE'], 200);
            if (Array.isArray(role) && role[0] === 'master') {
              promoted = server;
              return true;
            }
          }
          return false;
        },
        timeoutMs,
        10,
      );
      return { master: promoted!, at: Date.now() };
    },
    stop: stopAll,
  };
}

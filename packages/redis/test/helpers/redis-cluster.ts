// A real Redis Cluster of private `redis-server` processes: 3 masters and a replica each by
// default, built the way `redis-cli --cluster create … --cluster-replicas 1` builds one
// (slots, config epochs, MEET, REPLICATE), without its one-second polls, and with each
// replica's master chosen, not left to redis-cli. Node built-ins only (see redis-process.ts).
import {
  call,
  info,
  startRedisProcess,
  temporaryDirectory,
  waitFor,
  withFreePorts,
  type RedisProcess,
} from './redis-process.js';

/** One node of the cluster. */
export interface ClusterNode extends RedisProcess {
  /** The node's id in the cluster (`CLUSTER MYID`). */
  readonly id: string;
}

export interface RedisCluster {
  /** Every node: the masters first (in slot order), then their replicas in the same order. */
  readonly nodes: readonly ClusterNode[];
  /** The masters' addresses, as a client's start-up list. */
  readonly rootNodes: ReadonlyArray<{ host: string; port: number }>;
  /** `cluster-node-timeout` of every node, in ms. */
  readonly nodeTimeoutMs: number;
  /** The master that serves `key`'s slot now, as the first answering node reports it. */
  masterOf(key: string): Promise<ClusterNode>;
  /** The names of the keys matching `pattern` (`KEYS`) on every master that answers. */
  keys(pattern: string): Promise<string[]>;
  /** The replicas of `master`, as the first answering node other than it reports them. */
  replicasOf(master: ClusterNode): Promise<ClusterNode[]>;
  /**
   * Waits until one of `formerMaster`'s replicas says it is a master (`ROLE`), polling
   * every 10 ms: the moment of the promotion (epoch ms), and the new master.
   */
  waitForPromotion(
    formerMaster: ClusterNode,
    timeoutMs?: number,
  ): Promise<{ master: ClusterNode; at: number }>;
  /**
   * Thaws frozen nodes, restarts killed ones (they rejoin from their `nodes.conf`), and
   * waits until the cluster is whole again: every slot served, every replica in sync.
   */
  heal(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

/** The hash slot of `key` (CRC16/XMODEM of its hash tag, mod 16384), as Redis computes it. */
export function keySlot(key: string): number {
  let hashed = Buffer.from(key);
  const open = hashed.indexOf('{');
  if (open !== -1) {
    const close = hashed.indexOf('}', open + 1);
    if (close > open + 1) hashed = hashed.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}

/**
 * Starts a Redis Cluster of `masters` masters with `replicas` replicas each on free ports,
 * and waits until every node reports `cluster_state:ok` and every replica is in sync.
 * `nodeTimeoutMs` (`cluster-node-timeout`) is how long a master may be silent before its
 * replica takes over; `args` go to every `redis-server`.
 */
export async function startRedisCluster(
  options: {
    masters?: number;
    replicas?: number;
    nodeTimeoutMs?: number;
    args?: readonly string[];
  } = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const dir = temporaryDirectory('cluster');
  const processes: RedisProcess[] = [];
  try {
    const count = masters * (1 + replicas);
    const busPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      processes.push(
        await withFreePorts(2, ([port = 0, busPort = 0]) => {
          busPorts[i] = busPort;
          return startRedisProcess({
            port,
            dir: dir.path,
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              `nodes-${port}.conf`,
              '--cluster-port',
              String(busPort),
              '--cluster-node-timeout',
              String(nodeTimeoutMs),
              // A replica may always take over, however long it was cut off.
              '--cluster-replica-validity-factor',
              '0',
              ...(options.args ?? []),
            ],
          });
        }),
      );
    }
    const ids = await Promise.all(
      processes.map(async (p) => String(await call(p.port, ['CLUSTER', 'MYID']))),
    );
    const nodes: ClusterNode[] = processes.map((p, i) => withId(p, ids[i] ?? ''));

    // Slots in equal ranges; distinct config epochs, as redis-cli sets them.
    for (let m = 0; m < masters; m++) {
      const first = Math.floor((m * 16384) / masters);
      const last = Math.floor(((m + 1) * 16384) / masters) - 1;
      await call(nodes[m]!.port, ['CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)]);
    }
    for (const [index, node] of nodes.entries()) {
      await call(node.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(index + 1)]);
    }
    const first = nodes[0]!;
    for (const node of nodes.slice(1)) {
      const busPort = busPorts[nodes.indexOf(node)] ?? 0;
      await call(first.port, ['CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(busPort)]);
    }
    await waitFor(
      'every node to know every other',
      async () => {
        for (const node of nodes) {
          const lines = await clusterNodes(node.port);
          if (lines.length !== count || lines.some((line) => /handshake|noaddr/.test(line.flags))) {
            return false;
          }
        }
        return true;
      },
      15_000,
    );
    for (let r = masters; r < count; r++) {
      const master = nodes[(r - masters) % masters]!;
      await call(nodes[r]!.port, ['CLUSTER', 'REPLICATE', master.id]);
    }

    const cluster: RedisCluster = {
      nodes,
      rootNodes: nodes.slice(0, masters).map((node) => ({ host: '127.0.0.1', port: node.port })),
      nodeTimeoutMs,
      async masterOf(key) {
        const slot = keySlot(key);
        const view = await anyView(nodes);
        const owner = view.find(
          (line) =>
            line.flags.includes('master') && line.slots.some(([a, b]) => slot >= a && slot <= b),
        );
        const node = nodes.find((n) => n.id === owner?.id);
        if (node === undefined) throw new Error(`no master serves slot ${slot}`);
        return node;
      },
      async keys(pattern) {
        const names: string[] = [];
        for (const line of await anyView(nodes)) {
          const node = nodes.find((n) => n.id === line.id);
          if (!line.flags.includes('master') || node === undefined || node.frozen || !node.alive) {
            continue;
          }
          const reply = await call(node.port, ['KEYS', pattern], 500).catch(() => []);
          if (Array.isArray(reply)) names.push(...reply.map(String));
        }
        return names;
      },
      async replicasOf(master) {
        const view = await anyView(nodes.filter((node) => node !== master));
        const ids = view.filter((line) => line.masterId === master.id).map((line) => line.id);
        return nodes.filter((node) => ids.includes(node.id));
      },
      async waitForPromotion(formerMaster, timeoutMs = 30_000) {
        const candidates = await cluster.replicasOf(formerMaster);
        let promoted: ClusterNode | undefined;
        await waitFor(
          `a replica of :${formerMaster.port} to become master`,
          async () => {
            for (const node of candidates) {
              if (node.frozen || !node.alive) continue;
              const role = await call(node.port, ['ROLE'], 200);
              if (Array.isArray(role) && role[0] === 'master') {
                promoted = node;
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
      async heal(timeoutMs = 30_000) {
        for (const node of nodes) {
          if (node.frozen) node.thaw();
          else if (!node.alive) await node.restart();
        }
        await waitForWhole(nodes, masters, replicas, timeoutMs);
      },
      async stop() {
        for (const node of nodes) await node.kill();
        dir.remove();
      },
    };
    await waitForWhole(nodes, masters, replicas, 15_000);
    return cluster;
  } catch (error) {
    for (const p of processes) await p.kill();
    dir.remove();
    throw error;
  }
}

/** A line of `CLUSTER NODES`. */
interface NodeLine {
  id: string;
  port: number;
  flags: string;
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** Inclusive slot ranges served. */
  slots: Array<[number, number]>;
}

async function clusterNodes(port: number): Promise<NodeLine[]> {
  const text = String(await call(port, ['CLUSTER', 'NODES'], 500));
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...ranges] = line.split(' ');
      return {
        id,
        port: Number(/:(\d+)/.exec(address)?.[1] ?? 0),
        flags,
        masterId: master === '-' ? undefined : master,
        slots: ranges
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [a = '0', b = a] = range.split('-');
            return [Number(a), Number(b)] as [number, number];
          }),
      };
    });
}

/** The cluster as the first node that answers sees it. */
async function anyView(nodes: readonly ClusterNode[]): Promise<NodeLine[]> {
  for (const node of nodes) {
    if (node.frozen || !node.alive) continue;
    try {
      return await clusterNodes(node.port);
    } catch {
      // try the next
    }
  }
  throw new Error('no cluster node answers');
}

/** Every node ok, `masters` masters covering every slot, each with `replicas` replicas in sync. */
async function waitForWhole(
  nodes: readonly ClusterNode[],
  masters: number,
  replicas: number,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    'the cluster to be whole (every slot served, every replica in sync)',
    async () => {
      for (const node of nodes) {
        const cluster = String(await call(node.port, ['CLUSTER', 'INFO'], 500));
        if (!cluster.includes('cluster_state:ok') || !cluster.includes('cluster_slots_ok:16384')) {
          return false;
        }
        const lines = await clusterNodes(node.port);
        if (lines.some((line) => /fail|handshake|noaddr/.test(line.flags))) return false;
        const replication = await info(node.port, 'replication', 500);
        if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') {
          return false;
        }
        const masterLines = lines.filter((line) => line.flags.includes('master'));
        if (masterLines.length !== masters) return false;
        for (const master of masterLines) {
          if (lines.filter((line) => line.masterId === master.id).length !== replicas) return false;
        }
      }
      return true;
    },
    timeoutMs,
    50,
  );
}

function withId(process: RedisProcess, id: string): ClusterNode {
  return Object.defineProperty(process, 'id', { value: id, enumerable: true }) as ClusterNode;
}

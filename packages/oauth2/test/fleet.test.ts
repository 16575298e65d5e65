// A fleet of processes on one Redis (guarantee 12 with OAuth): one token request per
// parameter set for the whole fleet, and with a refresh token one refresh for all of them.
// The workers run the built packages (npm test builds first).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startAs } from './helpers.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const worker = fileURLToPath(new URL('./fixtures/fleet-worker.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const prefixes: string[] = [];

interface Report {
  statuses?: number[];
  tokens?: string[];
  error?: string;
}

/** Starts `size` workers with `options`, lets them go at once, and collects their reports. */
async function runFleet(size: number, options: Record<string, unknown>): Promise<Report[]> {
  const children: ChildProcess[] = [];
  try {
    const reports = await Promise.all(
      Array.from({ length: size }, async () => {
        const child = fork(worker, [JSON.stringify(options)], {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
        children.push(child);
        await new Promise<void>((resolve, reject) => {
          child.once('message', () => resolve());
          child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
        });
        return child;
      }),
    ).then((ready) =>
      Promise.all(
        ready.map(
          (child) =>
            new Promise<Report>((resolve) => {
              child.once('message', (report) => resolve(report as Report));
              child.send('go');
            }),
        ),
      ),
    );
    return reports;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

describe('a fleet of 3 processes on one Redis', { timeout: 60_000 }, () => {
  let redis: Redis;
  beforeAll(async () => {
    if (!existsSync(built)) throw new Error('build @tokenfetch/oauth2 first (pnpm build)');
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await redis.ping();
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`{${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis?.disconnect();
  });

  it('client credentials: one token request per parameter set for the whole fleet', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const prefix = `oauth2-fleet-${process.pid}-${Date.now()}`;
    prefixes.push(prefix);
    const reports = await runFleet(3, {
      redisUrl,
      prefix,
      baseUrl: api.baseUrl,
      client: { tokenUrl: as.tokenEndpoint, clientId, clientSecret },
      sets: [null, { scope: 'read' }],
      calls: 100,
    });
    expect(reports.map((report) => report.error)).toEqual([undefined, undefined, undefined]);
    for (const report of reports)
      expect(report.statuses!.every((status) => status === 200)).toBe(true);
    // Each set: the same token in every process; the two sets: different tokens.
    const bySet = [0, 1].map((set) => new Set(reports.map((report) => report.tokens![set])));
    expect(bySet.map((tokens) => tokens.size)).toEqual([1, 1]);
    expect([...bySet[0]!][0]).not.toBe([...bySet[1]!][0]);
    expect(as.tokenRequests.map((request) => [request.scope, request.issued])).toEqual(
      expect.arrayContaining([
        [undefined, true],
        ['read', true],
      ]),
    );
    expect(as.tokenRequests).toHaveLength(2);
    expect(api.stats.oauthCalls).toBe(600);
  });

  it('a refresh token: one refresh for the whole fleet', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    const prefix = `oauth2-fleet-rt-${process.pid}-${Date.now()}`;
    prefixes.push(prefix);
    const reports = await runFleet(3, {
      redisUrl,
      prefix,
      baseUrl: api.baseUrl,
      grant: 'refresh_token',
      refreshToken: await as.issueRefreshToken(),
      client: { tokenUrl: as.tokenEndpoint, clientId, clientSecret },
      sets: [null],
      calls: 100,
    });
    expect(reports.map((report) => report.error)).toEqual([undefined, undefined, undefined]);
    expect(new Set(reports.map((report) => report.tokens![0])).size).toBe(1);
    expect(as.tokenRequests.map((request) => request.error ?? 'issued')).toEqual(['issued']);
  });
});

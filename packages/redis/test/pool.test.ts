import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertAvailable,
  deletePrefix,
  missingRedis,
  probeRedis,
  redisGate,
  redisUrl,
  uniquePrefix,
} from './helpers/redis.js';

const up = await probeRedis(redisUrl);
const worker = fileURLToPath(new URL('./fixtures/pool-worker.mjs', import.meta.url));

interface CallResult {
  tenant: string;
  status: number;
  email: string;
}

/** Runs one worker process to its end; its stdout is one JSON line. */
function runWorker(config: unknown): Promise<CallResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as CallResult[]);
      else reject(new Error(`pool worker exited with ${code}: ${err}`));
    });
  });
}

describe.runIf(redisGate('@tokenfetch/redis pool test', up, missingRedis))(
  'a client pool on a Redis store, across processes',
  { timeout: 60_000 },
  () => {
    const mocks: MockUpstream[] = [];
    const prefixes: string[] = [];
    afterAll(async () => {
      await Promise.all(mocks.map((mock) => mock.close()));
      await Promise.all(prefixes.map((prefix) => deletePrefix(redisUrl, prefix)));
    });

    it('two tenants on two servers, two processes, one Redis prefix: one login per tenant, no token crosses over', async () => {
      assertAvailable(up, missingRedis);
      const users = {
        one: { email: 'svc@one.test', password: 'pw-one', orgs: [1], id: 1 },
        two: { email: 'svc@two.test', password: 'pw-two', orgs: [2], id: 2 },
      };
      const one = await startMockUpstream({ users: [users.one] });
      const two = await startMockUpstream({ users: [users.two] });
      mocks.push(one, two);
      const prefix = uniquePrefix('pool');
      prefixes.push(prefix);
      const config = {
        redisUrl,
        prefix,
        calls: 60,
        tenants: {
          one: { baseUrl: one.baseUrl, ...users.one, orgId: 1 },
          two: { baseUrl: two.baseUrl, ...users.two, orgId: 2 },
        },
      };

      const results = (await Promise.all([runWorker(config), runWorker(config)])).flat();

      expect(results).toHaveLength(120);
      for (const result of results) {
        expect(result.status).toBe(200);
        expect(result.email).toBe(users[result.tenant as 'one' | 'two'].email);
      }
      for (const server of [one, two]) {
        expect(server.stats.successfulLogins).toBe(1);
        expect(server.stats.unknownCredentialCalls).toBe(0);
        expect(server.stats.rejectedCalls).toBe(0);
      }
    });
  },
);

import type { MockUpstreamOptions, MockUpstreamStats } from '@tokenfetch/mock-upstream';
import { cores, startNode, type NodeChild } from './taskset.js';

/** The mock upstream running in its own process on the upstream core. */
export interface RemoteMock {
  baseUrl: string;
  pid: number;
  stats(): Promise<MockUpstreamStats>;
  resetStats(): Promise<void>;
  revokeTokens(): Promise<void>;
  failNextLogins(status: number, count: number): Promise<void>;
  setLoginDelay(ms: number): Promise<void>;
  /** Each login fails with 500 with probability `failRate`, after 0..maxDelayMs. */
  chaos(failRate: number, maxDelayMs: number): Promise<void>;
  chaosFailures(): Promise<number>;
  close(): Promise<void>;
}

export async function startRemoteMock(options: MockUpstreamOptions = {}): Promise<RemoteMock> {
  const host: NodeChild = await startNode(new URL('../apps/mock-host.ts', import.meta.url), {
    cpus: cores?.upstream,
    env: { MOCK_OPTIONS: JSON.stringify(options) },
  });
  return {
    baseUrl: host.ready.baseUrl as string,
    pid: host.pid,
    stats: () => host.call('stats'),
    resetStats: () => host.call('resetStats'),
    revokeTokens: () => host.call('revokeTokens'),
    failNextLogins: (status, count) => host.call('failNextLogins', status, count),
    setLoginDelay: (ms) => host.call('setLoginDelay', ms),
    chaos: (failRate, maxDelayMs) => host.call('chaos', failRate, maxDelayMs),
    chaosFailures: () => host.call('chaosFailures'),
    close: () => host.stop(),
  };
}

/**
 * The mock upstream in its own process (pinned to the upstream core by the harness),
 * controlled over IPC. Options come as JSON in MOCK_OPTIONS.
 */
import { startMockUpstream, type MockUpstreamOptions } from '@tokenfetch/mock-upstream';
import { serveIpc } from '../lib/taskset.js';

const options = JSON.parse(process.env.MOCK_OPTIONS ?? '{}') as MockUpstreamOptions;
const mock = await startMockUpstream(options);
let chaosFailures = 0;

serveIpc(
  {
    stats: () => mock.stats,
    resetStats: () => mock.resetStats(),
    revokeTokens: () => mock.revokeTokens(),
    failNextLogins: (status: number, count: number) => mock.failNextLogins(status, count),
    setLoginDelay: (ms: number) => mock.setLoginDelay(ms),
    /**
     * Chaos for logins: each login independently fails with 500 (probability `failRate`)
     * after a delay drawn uniformly from 0..maxDelayMs. `failRate` 0 and `maxDelayMs` 0 end it.
     */
    chaos: (failRate: number, maxDelayMs: number) => {
      if (failRate === 0 && maxDelayMs === 0) {
        mock.setLoginResponse(undefined);
        return;
      }
      mock.setLoginResponse(async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * maxDelayMs));
        if (Math.random() < failRate) {
          chaosFailures++;
          return { status: 500, body: JSON.stringify({ error: 'Internal Server Error' }) };
        }
        return undefined;
      });
    },
    chaosFailures: () => chaosFailures,
    memory: () => process.memoryUsage(),
  },
  { baseUrl: mock.baseUrl },
);

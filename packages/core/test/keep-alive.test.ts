import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/await-first-call.ts', import.meta.url));
let upstream: MockUpstream | undefined;

afterEach(async () => {
  await upstream?.close();
});

it('keeps a bare script alive while the login it awaits backs off (Retry-After)', async () => {
  upstream = await startMockUpstream();
  upstream.failNextLogins(503, 1, { 'retry-after': '1' });
  // Without a ref'd backoff timer the child's loop empties and Node exits with code 13
  // ("unsettled top-level await") before the retry.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, upstream.baseUrl], {
    timeout: 15_000,
  });
  expect(stdout.trim()).toBe('ok demo@example.com');
  expect(upstream.stats.loginAttempts).toBe(2);
});

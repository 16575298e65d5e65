import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const script = fixture('await-first-call.ts');
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

it('keeps a script alive when its call joins a background refresh that backs off (Retry-After)', async () => {
  upstream = await startMockUpstream();
  let logins = 0;
  // The first login succeeds; the background refresh's first attempt is told to wait 1 s.
  upstream.setLoginResponse(() =>
    ++logins === 2 ? { status: 503, headers: { 'retry-after': '1' }, body: '' } : undefined,
  );
  // The refresh began with nobody waiting, so its backoff timer was unref'd; the call that
  // joins it must ref it, or Node exits with code 13 ("unsettled top-level await").
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', fixture('await-after-last-usable-moment.ts'), upstream.baseUrl],
    { timeout: 15_000 },
  );
  expect(stdout.trim()).toBe('ok demo@example.com');
  expect(upstream.stats.loginAttempts).toBe(3);
});

// Shows what the token cache is for: N `tokenfetch request` commands run one after the
// other, each its own process as in a shell loop, make one login between them.
//
//   pnpm build && node packages/cli/scripts/sequential-requests.mjs [N] [OPTION…]
//
// N defaults to 100; options go to each command (`--no-cache` shows the loop without the
// cache: one login per command).
// It starts the mock upstream in-process, gives the commands an empty cache of their own
// ($XDG_CACHE_HOME in a temporary directory) and exits 1 unless every command succeeded
// with exactly one login.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_USER, startMockUpstream } from '../../mock-upstream/dist/index.js';

const count = Number(process.argv[2] ?? 100);
const options = process.argv.slice(3);
const bin = fileURLToPath(new URL('../bin/tokenfetch.js', import.meta.url));
const mock = await startMockUpstream();
const cache = mkdtempSync(join(tmpdir(), 'tokenfetch-sequential-'));
const env = {
  PATH: process.env.PATH,
  XDG_CACHE_HOME: cache,
  API_BASE_URL: mock.baseUrl,
  API_EMAIL: DEMO_USER.email,
  API_PASSWORD: DEMO_USER.password,
  API_ORG_ID: String(DEMO_USER.orgs[0]),
};

/** Runs one command; resolves with its exit code. */
function request() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'request', 'GET', '/user/users/me', ...options], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

const started = Date.now();
let succeeded = 0;
try {
  for (let index = 0; index < count; index++) {
    if ((await request()) === 0) succeeded++;
  }
} finally {
  await mock.close();
  rmSync(cache, { recursive: true, force: true });
}
const { loginAttempts, successfulLogins } = mock.stats;
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `${count} sequential \`tokenfetch request GET /user/users/me${options.map((o) => ` ${o}`).join('')}\`: ` +
    `${succeeded} succeeded, ` +
    `${successfulLogins} login${successfulLogins === 1 ? '' : 's'} (${loginAttempts} attempt${loginAttempts === 1 ? '' : 's'}), ${seconds} s`,
);
const expected = options.includes('--no-cache') ? count : 1;
process.exitCode = succeeded === count && loginAttempts === expected ? 0 : 1;

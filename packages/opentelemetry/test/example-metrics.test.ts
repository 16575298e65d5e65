import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onCleanup } from './helpers.js';

const exampleDir = fileURLToPath(new URL('../../../examples/express/', import.meta.url));
// The example imports the packages as users do, from their dist/.
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Starts the Express example (mock upstream in-process) and resolves with its origin. */
function startExample(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: exampleDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', ...env },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  onCleanup(() => {
    child.kill('SIGTERM');
    return exited;
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const origin = /on (http:\/\/localhost:\d+)/.exec(output)?.[1];
      if (origin !== undefined) resolve(origin);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`the example exited (${code}): ${output}`)));
  });
}

describe('the Express example', () => {
  it('with METRICS=1 serves tokenfetch metrics at /metrics for Prometheus to scrape', async () => {
    if (!existsSync(built))
      throw new Error('packages/opentelemetry/dist is missing: run `pnpm build`');
    const origin = await startExample({ METRICS: '1' });

    for (let i = 0; i < 3; i++) expect((await fetch(`${origin}/me`)).status).toBe(200);
    const scrape = await fetch(`${origin}/metrics`);
    const text = await scrape.text();

    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toMatch(/^tokenfetch_logins_total\{tokenfetch_source="login",[^}]*\} 1$/m);
    expect(text).toMatch(
      /^tokenfetch_login_duration_bucket\{tokenfetch_source="login",[^}]*le="\+Inf"\} 1$/m,
    );
    const remaining =
      /^tokenfetch_token_remaining\{server_address="127\.0\.0\.1",[^}]*\} ([\d.]+)$/m.exec(text);
    expect(Number(remaining?.[1])).toBeGreaterThan(890);
    expect(Number(remaining?.[1])).toBeLessThanOrEqual(900);
  });

  it('without METRICS there is no /metrics route', async () => {
    if (!existsSync(built))
      throw new Error('packages/opentelemetry/dist is missing: run `pnpm build`');
    const origin = await startExample({});

    expect((await fetch(`${origin}/me`)).status).toBe(200);
    expect((await fetch(`${origin}/metrics`)).status).toBe(404);
  });
});

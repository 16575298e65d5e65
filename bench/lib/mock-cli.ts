import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** `tokenfetch-mock`, the mock upstream's command line, running as a child process. */
export interface MockCli {
  baseUrl: string;
  pid: number;
  /** The command line, as a user would type it. */
  command: string;
  /** Revokes every token issued so far (SIGUSR2), as `kill -USR2 <pid>` does. */
  revoke(): void;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const bin = join(
  dirname(require.resolve('@tokenfetch/mock-upstream/package.json')),
  'bin/tokenfetch-mock.js',
);

/** Starts `tokenfetch-mock --port 0 …args` and waits for the base URL it prints. */
export async function startMockCli(args: readonly string[]): Promise<MockCli> {
  const argv = ['--port', '0', ...args];
  const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tokenfetch-mock did not start: ${output}`)),
      10_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tokenfetch-mock exited with ${code}: ${output}`));
    });
  });
  return {
    baseUrl,
    pid: child.pid!,
    command: `tokenfetch-mock ${argv.join(' ')}`,
    revoke: () => child.kill('SIGUSR2'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

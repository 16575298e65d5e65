import { formatBanner, parseBinArgs, usage } from './bin-options.js';
import type { BinOptions } from './bin-options.js';
import { writeEnvFile } from './env-file.js';
import { startMockUpstream } from './mock-upstream.js';

async function main(): Promise<void> {
  let options: BinOptions;
  try {
    options = parseBinArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`tokenfetch-mock: ${(error as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(usage);
    return;
  }

  const mock = await startMockUpstream({
    port: options.port,
    host: options.host,
    tokenTtlMs: options.tokenTtlMs,
    announceTtl: options.announceTtl,
  });
  if (options.writeEnv !== undefined) {
    try {
      await writeEnvFile(options.writeEnv, mock.baseUrl);
    } catch (error) {
      await mock.close();
      process.stderr.write(`tokenfetch-mock: ${(error as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
  }
  process.stdout.write(formatBanner(mock.baseUrl, options.writeEnv));
  const revoke = (why: string) => {
    mock.revokeTokens();
    process.stdout.write(`tokenfetch-mock: revoked every token (${why})\n`);
  };
  const revoker =
    options.revokeEveryMs === undefined
      ? undefined
      : setInterval(() => revoke(`every ${options.revokeEveryMs} ms`), options.revokeEveryMs);
  process.on('SIGUSR2', () => revoke('SIGUSR2'));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`tokenfetch-mock: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    clearInterval(revoker);
    mock.close().then(
      () => process.stdout.write(`tokenfetch-mock: stopped (${signal})\n`),
      (error: unknown) => {
        process.stderr.write(`tokenfetch-mock: close failed: ${(error as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tokenfetch-mock: ${(error as Error).message}\n`);
  process.exitCode = 1;
});

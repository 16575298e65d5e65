import { isatty } from 'node:tty';
import { main } from './main.js';

// Thin on purpose: everything testable lives in main().
process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: isatty(0),
  stdoutIsTTY: isatty(1),
});

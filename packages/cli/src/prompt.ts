import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { UsageError } from './usage-error.js';

/**
 * Asks for a secret on a terminal without echoing it. The prompt goes to `output` (stderr,
 * so that `$(tokenfetch token)` captures only the token). readline puts the terminal in
 * raw mode, which turns the terminal's own echo off, and writes its echo to a muted
 * stream. Ctrl+C cancels (exit 130); Ctrl+D or an empty answer is a usage error.
 */
export function promptSecret(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<string> {
  const muted = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  return new Promise<string>((resolve, reject) => {
    // Raw mode first (readline sets it), then the prompt: a password typed as soon as the
    // prompt shows must not meet a terminal that still echoes.
    const rl = createInterface({ input, output: muted, terminal: true, historySize: 0 });
    output.write(question);
    let settled = false;
    const finish = (error: Error | undefined, answer = '') => {
      if (settled) return;
      settled = true;
      rl.close();
      output.write('\n');
      if (error !== undefined) reject(error);
      else resolve(answer);
    };
    rl.once('line', (line) => {
      if (line === '') finish(new UsageError('no password entered'));
      else finish(undefined, line);
    });
    rl.once('SIGINT', () => finish(new UsageError('cancelled', { exitCode: 130 })));
    rl.once('close', () => finish(new UsageError('no password entered (end of input)')));
  });
}

/**
 * A mistake on the command line, or a prompt the user cancelled. Its message is shown as
 * is (one line, no stack); it never quotes a value the user typed, which may be a secret.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose `--help` explains the fix, if any. */
  readonly command: string | undefined;
  readonly exitCode: 2 | 130;

  constructor(message: string, options: { command?: string; exitCode?: 2 | 130 } = {}) {
    super(message);
    this.command = options.command;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Everything the CLI touches of its process, so that tests can run it in-process. */
export interface CliIo {
  /** The environment (`process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stdin is a terminal: only then is a missing password asked for. */
  stdinIsTTY?: boolean | undefined;
  /** Whether stdout is a terminal: JSON bodies are then pretty-printed. */
  stdoutIsTTY?: boolean | undefined;
}

/** What a command gets from `main`. */
export interface CommandContext {
  io: CliIo;
  /** Reads `--env-file` (if given) over the environment. */
  loadEnv(envFile: string | undefined): Promise<Record<string, string | undefined>>;
  /** Asks for the password without echo; undefined when stdin is not a terminal. */
  askPassword: ((email: string) => Promise<string>) | undefined;
  /** Remembers a secret so that no message can print it. */
  onSecret(secret: string): void;
}

/** Writes and waits until the stream took it. A reader that went away (EPIPE) is not an error. */
export function write(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => {
      if (error == null || (error as { code?: unknown }).code === 'EPIPE') resolve();
      else reject(error);
    });
  });
}

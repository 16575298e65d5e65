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
  /** One `tokenfetch: warning: …` line on stderr (each message once, scrubbed of secrets). */
  warn(message: string): void;
}

/**
 * Writes and waits until the stream took it. A reader that went away (`| head -c 10`) is
 * not an error: the write fails with EPIPE, and every later one because the stream is
 * destroyed; both are dropped quietly.
 */
export function write(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => {
      if (error == null || readerGone(error)) resolve();
      else reject(error);
    });
  });
}

function readerGone(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * Keeps a failed write from becoming an `'error'` event nobody listens to, which would end
 * the process with a stack trace: the failure reaches the writer through `write()`'s
 * callback instead. Returns the function that removes the listener, once the error events
 * of the writes already made (emitted on a later tick than their callbacks) are past.
 */
export function guardWrites(...streams: NodeJS.WritableStream[]): () => void {
  const ignore = () => {};
  for (const stream of streams) stream.on('error', ignore);
  return () => {
    setImmediate(() => {
      for (const stream of streams) stream.removeListener('error', ignore);
    });
  };
}

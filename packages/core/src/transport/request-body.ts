import { timeoutError, unrefTimer } from '../shared/abort.js';

/**
 * A fetch body as undici's `dispatcher.request()` takes it, with the content type fetch
 * would have sent for it (fetch's "extract a body", for the body types fetch accepts).
 */
export interface SendableBody {
  body: string | Uint8Array | AsyncIterable<Uint8Array> | null;
  /** The `content-type` fetch sets for this kind of body, unless the caller set one. */
  contentType: string | undefined;
  /** Known length of a stream body (a Blob's size), sent as `content-length`. */
  length: number | undefined;
}

const none: SendableBody = { body: null, contentType: undefined, length: undefined };

/**
 * Converts a fetch body. Synchronous for every common body; a `FormData` is encoded by
 * fetch's own `Response` (so its multipart form is fetch's), which takes a promise.
 */
export function toSendable(
  body: RequestInit['body'] | undefined,
): SendableBody | Promise<SendableBody> {
  if (body == null) return none;
  if (typeof body === 'string') return sendable(body, 'text/plain;charset=UTF-8');
  if (body instanceof Uint8Array) return sendable(body, undefined);
  if (body instanceof URLSearchParams) {
    return sendable(body.toString(), 'application/x-www-form-urlencoded;charset=UTF-8');
  }
  if (body instanceof ArrayBuffer) return sendable(new Uint8Array(body), undefined);
  if (ArrayBuffer.isView(body)) {
    return sendable(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), undefined);
  }
  if (body instanceof Blob) {
    return {
      body: body.stream() as unknown as AsyncIterable<Uint8Array>,
      contentType: body.type === '' ? undefined : body.type,
      length: body.size,
    };
  }
  if (body instanceof FormData) return encodeFormData(body);
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    return sendable(body as AsyncIterable<Uint8Array>, undefined);
  }
  // fetch turns any other value into a string.
  return sendable(String(body), 'text/plain;charset=UTF-8');
}

function sendable(
  body: string | Uint8Array | AsyncIterable<Uint8Array>,
  contentType: string | undefined,
): SendableBody {
  return { body, contentType, length: undefined };
}

async function encodeFormData(form: FormData): Promise<SendableBody> {
  const encoded = new Response(form);
  return {
    body: new Uint8Array(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type') ?? undefined,
    length: undefined,
  };
}

/**
 * A `Request`'s body, read into memory when it is at most `limit` bytes, so that it can be
 * replayed after a re-login; a larger body goes on as a stream (what was read, then the
 * rest) and is not replayed. Reading gives up, the stream cancelled, when `signal` aborts
 * (with its reason) or after `timeoutMs` (a `TimeoutError`), as fetch would end the upload.
 */
export async function bufferRequestBody(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  until: { signal: AbortSignal | null | undefined; timeoutMs: number },
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const stop = stopReading(reader, until.signal, until.timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), stop.stopped]);
      // A cancel ends the pending read as if the body were complete: the stop wins.
      if (stop.reason !== undefined) throw stop.reason.value;
      if (done) return concat(chunks, size);
      chunks.push(value);
      size += value.byteLength;
      if (size > limit) break;
    }
  } finally {
    stop.end();
  }
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return rest;
}

/** Rejects `stopped`, and cancels the reader, on an abort of `signal` or after `timeoutMs`. */
function stopReading(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | null | undefined,
  timeoutMs: number,
): { stopped: Promise<never>; readonly reason: { value: unknown } | undefined; end(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  let reason: { value: unknown } | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    const stop = (value: unknown) => {
      reason = { value };
      reject(value as Error);
      reader.cancel(value).catch(() => {});
    };
    if (signal?.aborted) return stop(signal.reason);
    timer = setTimeout(() => stop(timeoutError()), timeoutMs);
    unrefTimer(timer);
    if (signal != null) {
      onAbort = () => stop(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  stopped.catch(() => {}); // raced only while reading
  return {
    stopped,
    get reason() {
      return reason;
    },
    end() {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    },
  };
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

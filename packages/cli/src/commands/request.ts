import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { createApiClient, UpstreamError } from '@tokenfetch/core';
import { connectionOptions, parseCommandArgs } from '../args.js';
import { buildClientOptions } from '../config.js';
import { requestHelp } from '../help.js';
import { openTokenCache, storeErrorWarning } from '../token-cache.js';
import { write, type CommandContext } from '../io.js';
import { exitCodes } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

const methodPattern = /^[A-Za-z]+$/;
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// A header value is a ByteString (Latin-1) without NUL or a line break.
// eslint-disable-next-line no-control-regex -- a header value may not carry these
const badHeaderValue = /[\u0000\r\n]|[^\u0000-\u00ff]/;
const jsonType = /^[^;]*[/+]json\s*(?:;|$)/i;

/**
 * `tokenfetch request METHOD PATH`: one authenticated call through core's client, the
 * answer's body on stdout. A non-2xx answer still prints its body, then exits 6.
 */
export async function runRequest(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('request', {
    args,
    options: {
      ...connectionOptions,
      'no-cache': { type: 'boolean' },
      data: { type: 'string', short: 'd' },
      header: { type: 'string', short: 'H', multiple: true },
      include: { type: 'boolean', short: 'i' },
    },
    allowPositionals: true,
    strict: true,
  });
  const { io } = context;
  if (values.help === true) {
    await write(io.stdout, requestHelp);
    return exitCodes.ok;
  }
  const [rawMethod, path, ...extra] = positionals;
  if (rawMethod === undefined || path === undefined) {
    throw new UsageError('request needs METHOD and PATH, e.g. request GET /user/users/me', {
      command: 'request',
    });
  }
  if (extra.length > 0) {
    throw new UsageError(
      `request takes METHOD and PATH only (got ${positionals.length} arguments)`,
      {
        command: 'request',
      },
    );
  }
  if (!methodPattern.test(rawMethod)) {
    throw new UsageError('METHOD must be a word such as GET or POST', { command: 'request' });
  }
  const method = rawMethod.toUpperCase();
  const headers = parseHeaders(values.header ?? []);
  const bodyFromStdin = values.data === '@-';
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (values.data !== undefined) {
    if (method === 'GET' || method === 'HEAD') {
      throw new UsageError(`${method} cannot send a body (-d)`, { command: 'request' });
    }
    body = await readData(values.data, io.stdin);
    if (!headers.has('content-type')) headers.set('content-type', contentTypeOf(body));
  }

  const env = await context.loadEnv(values['env-file']);
  const { options, session } = await buildClientOptions({
    env,
    flags: values,
    auth: 'any',
    // stdin already held the body: there is nothing left to type a password on.
    askPassword: bodyFromStdin ? undefined : context.askPassword,
    onSecret: context.onSecret,
  });
  const store = await openTokenCache({
    env,
    noCache: values['no-cache'],
    session,
    warn: context.warn,
    loginTimeoutMs: options.loginTimeoutMs,
  });
  const client = createApiClient({
    ...options,
    ...(store === undefined ? {} : { store }),
    onEvent: storeErrorWarning(context.warn),
  });
  let response: Response;
  let answer: Uint8Array;
  try {
    response = await client.fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    answer = new Uint8Array(await response.arrayBuffer());
  } finally {
    await client.close();
  }

  if (values.include === true) await write(io.stdout, headBlock(response));
  await write(io.stdout, io.stdoutIsTTY === true ? forTerminal(answer, response) : answer);
  if (!response.ok) {
    const where = response.url === '' ? path : new URL(response.url).pathname;
    throw new UpstreamError(response.status, '', `${method} ${where}`);
  }
  return exitCodes.ok;
}

/** `-H 'name: value'` lines as Headers; repeated names are combined. */
function parseHeaders(lines: readonly string[]): Headers {
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon).trim();
    const value = colon === -1 ? '' : line.slice(colon + 1).trim();
    if (!headerName.test(name)) {
      throw new UsageError("-H needs 'NAME: VALUE' with a valid header name", {
        command: 'request',
      });
    }
    // The value is not shown: it may be a secret.
    if (badHeaderValue.test(value)) {
      throw new UsageError(
        `-H ${name}: the value must be Latin-1 text without line breaks (not shown here)`,
        { command: 'request' },
      );
    }
    headers.append(name, value);
  }
  return headers;
}

/** `-d` as bytes: the text itself, `@file`, or `@-` for stdin. */
async function readData(
  data: string,
  stdin: NodeJS.ReadableStream,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!data.startsWith('@')) return new TextEncoder().encode(data);
  const file = data.slice(1);
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : typeof code === 'string' ? code : 'unreadable';
    throw new UsageError(`cannot read the body file ${file}: ${why}`, { command: 'request' });
  }
}

/** JSON when the bytes parse as JSON; else text when they are UTF-8; else bytes. */
function contentTypeOf(body: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return 'application/octet-stream';
  }
  try {
    JSON.parse(text);
    return 'application/json';
  } catch {
    return 'text/plain;charset=utf-8';
  }
}

/** The status line and the headers, as `curl -i` shows them. */
function headBlock(response: Response): string {
  const reason = response.statusText || STATUS_CODES[response.status] || '';
  let head = `HTTP/1.1 ${response.status}${reason === '' ? '' : ` ${reason}`}\n`;
  response.headers.forEach((value, name) => {
    head += `${name}: ${value}\n`;
  });
  return `${head}\n`;
}

/** On a terminal: JSON pretty-printed, text ending in a newline. */
function forTerminal(body: Uint8Array, response: Response): Uint8Array | string {
  if (body.length === 0) return body;
  const text = Buffer.from(body).toString('utf8');
  if (jsonType.test(response.headers.get('content-type') ?? '')) {
    try {
      return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
    } catch {
      // Not JSON after all: shown as it came.
    }
  }
  return text.endsWith('\n') ? body : `${text}\n`;
}

import { utf8Text } from '../shared/bytes.js';
import { LoginFailedError } from '../shared/errors.js';
import type { LoginResult } from './token-store.js';

const tokenFields = ['token', 'accessToken', 'access_token', 'bearerToken', 'sessionToken', 'jwt'];
const maxBodyBytes = 64 * 1024;

/**
 * The default reader of a login answer. The upstream's body is not documented, so it is
 * tolerant: a JSON object with a string `token`, `accessToken`, `access_token`,
 * `bearerToken`, `sessionToken` or `jwt` (also under `data`), a JSON string, or a
 * `text/plain` token. `expiresIn` (seconds) and `expiresAt` (ISO date or epoch) are read
 * when present. Anything else is a `LoginFailedError` naming the shape (keys, never values).
 */
export async function parseLoginResponse(response: Response): Promise<LoginResult> {
  const text = await readText(response);
  if (text.trim() === '') throw new LoginFailedError('login answer had an empty body');
  const type = response.headers.get('content-type') ?? '';
  const looksJson = /\bjson\b/i.test(type) || /^\s*[{["]/.test(text);
  if (!looksJson) {
    if (/^\s*\S+\s*$/.test(text)) return { token: text.trim() };
    throw new LoginFailedError(
      `login answer is not JSON and not a single token (${describeType(type)})`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // The parser's message quotes the body, which may hold a secret: say less.
    throw new LoginFailedError(`login answer is not valid JSON (${describeType(type)})`);
  }
  if (typeof body === 'string') return { token: body };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LoginFailedError(`login answer has no token (saw ${shapeOf(body)})`);
  }
  const record = body as Record<string, unknown>;
  const data = isRecord(record.data) ? record.data : undefined;
  const token = findToken(record) ?? (data === undefined ? undefined : findToken(data));
  if (token === undefined) {
    throw new LoginFailedError(`login answer has no token (saw ${shapeOf(body)})`);
  }
  return {
    token,
    expiresInMs: seconds(record.expiresIn ?? data?.expiresIn ?? record.expires_in),
    expiresAt: epochMs(record.expiresAt ?? data?.expiresAt),
  };
}

/** The body as text, read no further than `maxBodyBytes` whatever `content-length` says. */
async function readText(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > maxBodyBytes) {
    await response.body?.cancel();
    throw new LoginFailedError(`login answer is too large (${length} bytes)`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBodyBytes) {
        await reader.cancel();
        throw new LoginFailedError(`login answer is too large (over ${maxBodyBytes} bytes)`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof LoginFailedError) throw error;
    throw new LoginFailedError('login answer could not be read', {
      cause: error,
      retryable: true,
    });
  }
  // Without a leading byte order mark, as fetch's text() and json() read a body.
  return utf8Text(chunks).replace(/^\uFEFF/, '');
}

function findToken(record: Record<string, unknown>): string | undefined {
  for (const field of tokenFields) {
    const value = record[field];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function seconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

function epochMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    return value < 1e12 ? value * 1000 : value;
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const numeric = Number(value);
    if (Number.isFinite(numeric)) return epochMs(numeric);
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shape of a value for an error message: types and keys, never values. */
function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return 'a JSON array';
  if (value === null) return 'JSON null';
  if (isRecord(value)) {
    const keys = Object.keys(value).map((key) =>
      isRecord(value[key]) ? `${key}.{${Object.keys(value[key]).join(', ')}}` : key,
    );
    return keys.length === 0
      ? 'an empty JSON object'
      : `a JSON object with keys: ${keys.join(', ')}`;
  }
  return `a JSON ${typeof value}`;
}

function describeType(type: string): string {
  return type === '' ? 'no content-type' : `content-type ${type.split(';')[0]}`;
}

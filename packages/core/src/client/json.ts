import { scrubSecrets } from '../guards/redact.js';
import { InvalidResponseError, UpstreamError } from '../shared/errors.js';
import { describeInput } from './call.js';
import type { ResponseSchema } from './types.js';

const excerptLength = 300;

/**
 * `client.json()`'s reading of an answer: a non-2xx is an `UpstreamError` with a short
 * excerpt of the body, scrubbed of the strategy's `secrets` and of the `tokens` the call
 * was sent with; a 2xx must be JSON, and match `schema` when one is given.
 */
export async function readJson<T>(
  response: Response,
  input: string | URL | Request,
  schema: ResponseSchema<T> | undefined,
  secrets: readonly string[],
  tokens: readonly string[],
): Promise<T> {
  const text = await response.text();
  const where = response.url === '' ? describeInput(input) : new URL(response.url).pathname;
  if (!response.ok) {
    // Scrubbed before it is cut, so that no beginning of a secret is left at the cut.
    throw new UpstreamError(response.status, redactExcerpt(text, [...secrets, ...tokens]), where);
  }
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new InvalidResponseError(
      `upstream answered ${response.status} with a body that is not JSON (${where})`,
      response.status,
    );
  }
  if (schema === undefined) return data as T;
  try {
    return schema.parse(data);
  } catch (error) {
    throw new InvalidResponseError(
      `upstream answer did not match the schema (${where})`,
      response.status,
      { cause: error },
    );
  }
}

/**
 * The start of an error body, scrubbed of every secret. Only as much is scrubbed as can
 * reach into the excerpt: no encoded form of a secret is longer than 16 characters per
 * character of it.
 */
function redactExcerpt(text: string, secrets: readonly string[]): string {
  const longest = secrets.reduce((max, secret) => Math.max(max, secret.length), 0);
  const head = text.slice(0, excerptLength + 16 * longest);
  return scrubSecrets(head, secrets)
    .replace(/(bearer\s+)[\x21-\x7E]+/gi, '$1[redacted]')
    .slice(0, excerptLength);
}

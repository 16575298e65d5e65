/**
 * The guards: the rules that keep credentials home, as pure functions on URLs and text.
 * Where a caller's URL may go (this file: the base URL's scope, `..` and encoded ways out,
 * allowed origins), which URLs are secure enough for a secret (`secure-url.ts`: https, or
 * plain http to loopback), and how a secret is scrubbed from text in any of its encodings
 * (`redact.ts`). They know nothing of clients, tokens or transports.
 */
import { CrossOriginError } from '../shared/errors.js';

/** The base URL as tokenfetch guards it: an origin and a path prefix ending in `/`. */
export interface UrlScope {
  /** The base URL with a trailing slash, for resolving relative paths. */
  readonly base: URL;
  readonly origin: string;
  /** The base path with a trailing slash, e.g. `/api/`. */
  readonly basePath: string;
  /** Origins trusted with credentials besides the base URL's (any path). */
  readonly allowedOrigins: ReadonlySet<string>;
}

/** Builds the scope of a validated base URL. */
export function createUrlScope(baseUrl: string, allowedOrigins: readonly string[] = []): UrlScope {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return {
    base,
    origin: base.origin,
    basePath: base.pathname,
    allowedOrigins: new Set(allowedOrigins.map((origin) => new URL(origin).origin)),
  };
}

// Anything the URL parser would strip or reinterpret: C0 controls, DEL, and a space at either end.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001F\u007F]/;
const hasScheme = /^[a-zA-Z][a-zA-Z\d+.-]*:/;

/**
 * Resolves a caller's input against the scope. A relative path lands under the base path
 * and may not leave it; an absolute URL must be inside the base URL or an allowed origin.
 * Everything else is a `CrossOriginError`, thrown before any I/O.
 */
export function resolveUrl(scope: UrlScope, input: string | URL): URL {
  if (input instanceof URL) return checkAbsolute(scope, new URL(input.href));
  if (typeof input !== 'string') {
    // fetch() with no URL, or with something that is not one: fetch's TypeError.
    throw new TypeError(`fetch needs a URL: a string, a URL or a Request (got ${typeof input})`);
  }
  if (controlCharacters.test(input) || input.trim() !== input) {
    throw new CrossOriginError('refused: the URL contains whitespace or control characters');
  }
  if (hasScheme.test(input)) return checkAbsolute(scope, parse(input));
  if (input.startsWith('//') || input.includes('\\')) {
    throw new CrossOriginError('refused: protocol-relative URLs and backslashes are not allowed');
  }
  const end = input.search(/[?#]/);
  const path = end === -1 ? input : input.slice(0, end);
  if (hasWayOut(path)) {
    throw new CrossOriginError(
      'refused: `.`/`..` segments (also encoded, or with `;params`) and encoded slashes may not be used to leave the base path',
    );
  }
  const url = new URL(input.startsWith('/') ? input.slice(1) : input, scope.base);
  if (!isInside(scope, url)) {
    throw new CrossOriginError(`refused: the path leaves the base path ${scope.basePath}`);
  }
  return url;
}

/** Whether credentials may go to `url`: the base URL (origin and path) or an allowed origin. */
export function isTrusted(scope: UrlScope, url: URL): boolean {
  if (url.username !== '' || url.password !== '') return false;
  return isInside(scope, url) || scope.allowedOrigins.has(url.origin);
}

/**
 * Whether `url` is on the base origin, under the base path, without userinfo. A path below
 * the base path with a way out that a server may see is outside (see `hasWayOut`).
 */
export function isInside(scope: UrlScope, url: URL): boolean {
  return (
    url.origin === scope.origin &&
    url.username === '' &&
    url.password === '' &&
    ((url.pathname.startsWith(scope.basePath) &&
      !hasWayOut(url.pathname.slice(scope.basePath.length))) ||
      `${url.pathname}/` === scope.basePath)
  );
}

/**
 * Whether a path has a segment that a server may read as `.` or `..`, or as holding a
 * separator, once it has percent-decoded it (once, twice: a proxy and the server behind it
 * each decode) and cut its `;params` (Tomcat, Jetty and Spring route `/api/..;/admin` to
 * `/admin`). Each segment is judged at every step of decoding until it no longer changes.
 */
function hasWayOut(path: string): boolean {
  // The common path has no dot, `%` or `;`: nothing to decode or cut.
  if (!wayOutCharacters.test(path)) return false;
  for (const segment of path.split('/')) {
    for (let form = segment; ;) {
      const semicolon = form.indexOf(';');
      const bare = semicolon === -1 ? form : form.slice(0, semicolon);
      if (bare === '.' || bare === '..' || form.includes('/') || form.includes('\\')) return true;
      const decoded = form.includes('%') ? form.replace(percentEncoded, decodeByte) : form;
      if (decoded === form) break;
      form = decoded;
    }
  }
  return false;
}

const wayOutCharacters = /[.%;\\]/;
const percentEncoded = /%([\da-f]{2})/gi;

/** One percent-encoded byte as the character of that code (only ASCII matters here). */
function decodeByte(_match: string, hex: string): string {
  return String.fromCharCode(Number.parseInt(hex, 16));
}

function checkAbsolute(scope: UrlScope, url: URL): URL {
  if (url.username !== '' || url.password !== '') {
    throw new CrossOriginError('refused: URLs with user info are not allowed');
  }
  if (!isTrusted(scope, url)) {
    throw new CrossOriginError(
      `refused to send credentials to ${url.origin}${url.origin === scope.origin ? ' outside the base path' : ''}: not the base URL or an allowed origin`,
    );
  }
  return url;
}

function parse(input: string): URL {
  try {
    return new URL(input);
  } catch {
    throw new CrossOriginError('refused: the URL is not valid');
  }
}

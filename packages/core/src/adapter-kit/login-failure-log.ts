/**
 * The adapters' log of failed logins (DESIGN.md, "Events"): core prints nothing, but an
 * adapter is part of an app, so a login that fails must show in the app's log, once per
 * distinct failure per cooldown window, with its code and its network cause in words that
 * say what to check. Only codes, addresses, host names and tokenfetch's own messages are
 * printed: never a raw message of a cause, so never a secret.
 */
import { defaults } from '../shared/defaults.js';
import { isTokenFetchError, type TokenFetchError } from '../shared/errors.js';

/** A logger an app passes as `logger`: `console`, pino, winston, bunyan, Nest's `Logger`. */
export interface LoginFailureLogger {
  error(message: string): unknown;
}

/** The network cause of a failed login, as the log line and the problem document say it. */
export interface LoginFailureCause {
  /** Its class: the system or TLS error code, e.g. `ECONNREFUSED`, `ENOTFOUND`. */
  code: string;
  /** The code with where it happened, e.g. `ECONNREFUSED 127.0.0.1:4011`, `ENOTFOUND acme.resolver.com`. */
  where: string;
  /** What to check, when the code says it, e.g. `is this port http, not https?`. */
  hint: string | undefined;
}

/** The codes of a login that failed: these are logged; any other error is the app's own. */
export const loginFailureCodes: ReadonlySet<string> = new Set([
  'E_INVALID_CREDENTIALS',
  'E_NO_ACTIVE_ORG',
  'E_LOGIN_NOT_FOUND',
  'E_INVALID_GRANT',
  'E_LOGIN_FAILED',
]);

/** Whether `error` is a login failure (of this or another installed copy of core). */
export function isLoginFailure(error: unknown): error is TokenFetchError {
  return isTokenFetchError(error) && loginFailureCodes.has(error.code);
}

const certificate =
  "the upstream's TLS certificate is not trusted here (NODE_EXTRA_CA_CERTS, or a dispatcher with its CA)";
const hints: Readonly<Record<string, string>> = {
  ECONNREFUSED:
    'nothing listens there: is the upstream running, and the port in the base URL right?',
  ENOTFOUND: "the host name does not resolve: is the base URL's host right?",
  EAI_AGAIN: 'the host name could not be resolved now: is DNS reachable from here?',
  ERR_SSL_WRONG_VERSION_NUMBER:
    'the server does not speak TLS there: is this port http, not https?',
  ECONNRESET: 'the connection was closed before an answer: a proxy, or TLS on an http port?',
  ETIMEDOUT: 'no answer to connect: is the host reachable from here (firewall, VPN, proxy)?',
  UND_ERR_CONNECT_TIMEOUT:
    'no answer to connect: is the host reachable from here (firewall, VPN, proxy)?',
  EHOSTUNREACH: 'the host is unreachable from here: is the network route (VPN, proxy) up?',
  DEPTH_ZERO_SELF_SIGNED_CERT: certificate,
  SELF_SIGNED_CERT_IN_CHAIN: certificate,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: certificate,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: certificate,
  CERT_HAS_EXPIRED: "the upstream's TLS certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID:
    "the upstream's TLS certificate is for another host name: is the base URL's host right?",
};

/**
 * The network cause of a failed login, read down its `cause` chain (and an
 * `AggregateError`'s first error, as a connection tried on several addresses fails): the
 * first system or TLS error code found, with its address and port or host name.
 * `undefined` when there is none (a refusal, an unusable answer, a timeout).
 */
export function describeLoginCause(error: unknown): LoginFailureCause | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const found = current as {
      code?: unknown;
      message?: unknown;
      address?: unknown;
      port?: unknown;
      hostname?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    const code = causeCode(found);
    if (code !== undefined && !isTokenFetchError(current)) {
      const first = Array.isArray(found.errors) ? (found.errors[0] as typeof found) : undefined;
      const place = placeOf(found) ?? (first === undefined ? undefined : placeOf(first));
      return { code, where: place === undefined ? code : `${code} ${place}`, hint: hints[code] };
    }
    current =
      found.cause ??
      (Array.isArray(found.errors) && !isTokenFetchError(current) ? found.errors[0] : undefined);
  }
  return undefined;
}

/** A system or TLS error code (`ECONNREFUSED`, `ERR_SSL_…`, `UND_ERR_…`); never a tokenfetch one. */
function causeCode(error: { code?: unknown; message?: unknown }): string | undefined {
  const { code } = error;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{2,63}$/.test(code) && !code.startsWith('E_')) {
    return code;
  }
  // Runtimes other than Node say TLS's mistake in the message only.
  if (typeof error.message === 'string' && /wrong version number/i.test(error.message)) {
    return 'ERR_SSL_WRONG_VERSION_NUMBER';
  }
  return undefined;
}

/** `127.0.0.1:4011`, `[::1]:4011` or a host name, from a system error's own fields. */
function placeOf(error: {
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
}): string | undefined {
  const { address, port, hostname } = error;
  if (typeof address === 'string' && /^[0-9a-fA-F.:]+$/.test(address)) {
    const host = address.includes(':') ? `[${address}]` : address;
    return typeof port === 'number' ? `${host}:${port}` : host;
  }
  if (typeof hostname === 'string' && /^[\w.-]+$/.test(hostname)) return hostname;
  return undefined;
}

/**
 * A login failure in one line: its message and, for a network failure, the cause with what
 * to check. `'class'` names the cause's code only (for a problem document, which goes to
 * the app's own callers); `'where'` adds the address or host (for the app's log).
 */
export function describeLoginFailure(error: TokenFetchError, detail: 'class' | 'where'): string {
  const cause = describeLoginCause(error.cause);
  if (cause === undefined) return error.message;
  const what = detail === 'where' ? cause.where : cause.code;
  return `${error.message}: ${what}${cause.hint === undefined ? '' : `: ${cause.hint}`}`;
}

/** The most distinct failures remembered per client (a cause's addresses may vary). */
const maxRemembered = 64;

/**
 * For adapter authors: a reporter that writes each distinct login failure of one client
 * once per `windowMs` (the client's `loginCooldownMs`: the time a refusal is remembered),
 * through `write`, which is given the request it happened in. Failures are the same when
 * code, status and network cause (with its address) are; any other error is ignored.
 */
export function createLoginFailureLog<Req>(
  write: (line: string, req: Req) => void,
  {
    windowMs = defaults.loginCooldownMs,
    now = Date.now,
  }: { windowMs?: number; now?: () => number } = {},
): (error: unknown, req: Req) => void {
  const written = new Map<string, number>();
  return (error, req) => {
    // Called with what a wait for a token threw: a ConfigError there is a login's (a token
    // endpoint that refused the scope), not the app's options, which fail at creation.
    if (!isLoginFailure(error) && !(isTokenFetchError(error) && error.code === 'E_CONFIG')) {
      return;
    }
    const line = describeLoginFailure(error, 'where');
    const status = (error as { status?: unknown }).status;
    const key = `${error.code}|${String(status)}|${describeLoginCause(error.cause)?.where ?? ''}`;
    const at = now();
    const last = written.get(key);
    if (last !== undefined && at - last < windowMs) return;
    written.delete(key);
    if (written.size >= maxRemembered) written.delete(written.keys().next().value!);
    written.set(key, at);
    const seconds = Math.round(windowMs / 1000);
    write(`tokenfetch: ${error.code}: ${line} (logged once per ${seconds} s while it lasts)`, req);
  };
}

/**
 * Where an adapter's login failures go: `logger: false` nowhere, a `logger` of the app's
 * its `error()`, else the adapter's default (`console.error` unless it has the framework's).
 */
export function loginFailureWriter<Req>(
  logger: LoginFailureLogger | false | undefined,
  fallback: ((line: string, req: Req) => void) | undefined,
): ((line: string, req: Req) => void) | undefined {
  if (logger === false) return undefined;
  if (logger !== undefined) return (line) => void logger.error(line);
  return fallback ?? ((line) => console.error(line));
}

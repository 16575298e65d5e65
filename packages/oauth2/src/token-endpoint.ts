import {
  ConfigError,
  InvalidCredentialsError,
  InvalidGrantError,
  LoginFailedError,
  TokenFetchError,
} from '@tokenfetch/core';
import { parseRetryAfter, scrubSecrets } from '@tokenfetch/core/adapter';
import * as oauth from 'oauth4webapi';
import { codeOf } from './authorization-server.js';

/** One token request: `send` makes it, `read` checks the answer (oauth4webapi both). */
export interface TokenExchange {
  send(): Promise<Response>;
  read(response: Response): Promise<oauth.TokenEndpointResponse>;
  /** Whether the request carries a DPoP proof: a nonce challenge is then answered once. */
  dpop: boolean;
  /** `refresh_token` or `client_credentials`: what an `invalid_grant` means. */
  grant: 'refresh_token' | 'client_credentials';
  /** Scrubbed from anything the server's answer puts in an error message. */
  secrets: () => readonly string[];
  now: () => number;
}

/**
 * Makes the token request and reads its answer as tokenfetch errors (DESIGN "OAuth 2.0"):
 * `invalid_client` → `InvalidCredentialsError` (cooldown), `invalid_grant` on a refresh →
 * `InvalidGrantError`, `invalid_scope` / `invalid_target` / `unauthorized_client` /
 * `unsupported_grant_type` → `ConfigError` (not retried), 408/429/5xx and
 * `temporarily_unavailable` → a retryable `LoginFailedError` with `Retry-After`; a DPoP nonce
 * challenge (`use_dpop_nonce`) is answered by one more request with the nonce, which the
 * DPoP handle keeps for the next.
 */
export async function exchange(request: TokenExchange): Promise<oauth.TokenEndpointResponse> {
  for (let nonceRetry = 0; ; nonceRetry++) {
    const response = await send(request);
    const { status } = response;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), request.now());
      await response.body?.cancel();
      throw new LoginFailedError(`token endpoint answered ${status}`, {
        status,
        retryable: true,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    try {
      return await request.read(response);
    } catch (error) {
      if (request.dpop && nonceRetry === 0 && oauth.isDPoPNonceError(error)) continue;
      throw asLoginError(error, status, response, request);
    }
  }
}

async function send(request: TokenExchange): Promise<Response> {
  try {
    return await request.send();
  } catch (error) {
    if (error instanceof TokenFetchError) throw error; // refused before any I/O, timed out…
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new LoginFailedError('token request did not complete', {
      retryable: true,
      cause: error,
    });
  }
}

const configErrors: Readonly<Record<string, { path: string; what: string }>> = {
  invalid_scope: { path: 'auth.scope', what: 'the authorization server refused the scope' },
  invalid_target: { path: 'auth.resource', what: 'the authorization server refused the resource' },
  unauthorized_client: {
    path: 'auth.clientId',
    what: 'the client may not use this grant',
  },
  unsupported_grant_type: {
    path: 'auth.clientId',
    what: 'the authorization server does not support this grant',
  },
};

function asLoginError(
  error: unknown,
  status: number,
  response: Response,
  request: TokenExchange,
): TokenFetchError {
  if (error instanceof TokenFetchError) return error;
  let code: string | undefined;
  let description: string | undefined;
  if (error instanceof oauth.ResponseBodyError) {
    code = error.error;
    description = error.error_description;
  } else if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    code = challenge?.parameters.error ?? (status === 401 ? 'invalid_client' : undefined);
  }
  if (code === 'invalid_client' || (code === undefined && status === 401)) {
    return new InvalidCredentialsError(
      `token endpoint refused the client: invalid_client (${status})`,
    );
  }
  const detail = describe(code, description, request);
  if (code === 'invalid_grant' && request.grant === 'refresh_token') {
    return new InvalidGrantError(`token endpoint refused the refresh token: ${detail} (${status})`);
  }
  const config = code === undefined ? undefined : configErrors[code];
  if (config !== undefined) {
    return new ConfigError(
      [{ path: config.path, message: `${config.what}: ${detail} (${status})` }],
      'the authorization server refused the client’s configuration',
    );
  }
  if (code === 'temporarily_unavailable') {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), request.now());
    return new LoginFailedError(`token endpoint answered ${detail} (${status})`, {
      status,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (code !== undefined) {
    return new LoginFailedError(`token endpoint answered ${detail} (${status})`, { status });
  }
  return new LoginFailedError(`token endpoint answer unusable: ${codeOf(error)} (${status})`, {
    status,
  });
}

/** The OAuth error code and a short description, scrubbed of every secret. */
function describe(
  code: string | undefined,
  description: string | undefined,
  request: TokenExchange,
): string {
  const safeCode = /^[\x20-\x7E]{1,64}$/.test(code ?? '') ? code! : 'an OAuth error';
  if (description === undefined || description === '') return safeCode;
  // Scrubbed before it is cut, and far enough past the cut that no secret reaching into the
  // kept part is cut in two (no encoded form of a secret is longer than 16 characters per
  // character of it, as in core's excerpts): a secret cut in two is not found.
  const secrets = request.secrets();
  const longest = secrets.reduce((max, secret) => Math.max(max, secret.length), 0);
  const text = scrubSecrets(description.slice(0, 120 + 16 * longest), secrets)
    .replace(/[^\x20-\x7E]/g, '?')
    .slice(0, 120);
  return `${safeCode}: ${text}`;
}

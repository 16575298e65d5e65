import type { IncomingHttpHeaders } from 'node:http';

/** The login request as a {@link MockLoginHook} sees it. */
export interface MockLoginRequest {
  readonly method: string;
  /** The request target as received, query included. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body text. */
  readonly body: string;
  /**
   * Issues a real, valid session token (for the user the body's credentials name, else
   * the first user), so a hook can wrap a working token in an unusual body. An answer
   * with a 2xx status after this call counts as a successful login.
   * @default ttlMs: the server's `tokenTtlMs`
   */
  issueToken(options?: { ttlMs?: number }): string;
}

/** A custom login answer. */
export interface MockLoginResponse {
  /** @default 200 */
  status?: number;
  /** `content-type` defaults to `application/json` when not given. */
  headers?: Record<string, string>;
  /** Sent verbatim. @default '' */
  body?: string;
}

/** What a hook returns: a custom answer, `'hang'` (never answer), `'reset'` (destroy the socket), or `undefined` to let the built-in handler answer. */
export type MockLoginHookResult = MockLoginResponse | 'hang' | 'reset' | undefined;

/**
 * Test hook for hostile login answers, set with `setLoginResponse()`.
 *
 * @example
 * ```ts
 * mock.setLoginResponse((req) => ({ body: JSON.stringify({ data: { accessToken: req.issueToken() } }) }));
 * mock.setLoginResponse(() => 'hang');
 * ```
 */
export type MockLoginHook = (
  request: MockLoginRequest,
) => MockLoginHookResult | Promise<MockLoginHookResult>;

import type { AsOptions } from '../auth/identity.js';

/** A schema `client.json()` can validate with: any zod schema (or anything with `parse`). */
export interface ResponseSchema<T> {
  parse(data: unknown): T;
}

/** `fetch`, authenticated: the signature of `client.fetch`, `req.apiFetch` and `ctx.apiFetch`. */
export type ApiFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** An authenticated fetch bound to one upstream. */
export interface ApiClient {
  /**
   * `fetch`, authenticated: a path resolves under the base URL, the token (or API key) is
   * added, a 401/403 on the current token triggers one re-login and one replay.
   * Returns the WHATWG `Response`, whatever its status.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Fetches and parses JSON; a non-2xx answer is an `UpstreamError`. With `schema`, the
   * data is validated (`schema.parse`) and typed by it.
   */
  json<T = unknown>(
    input: string | URL | Request,
    init?: RequestInit & { schema?: ResponseSchema<T> },
  ): Promise<T>;
  /** The current session token (logging in if needed). Session auth only. */
  getToken(options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The same credentials acting as someone else, sharing this client's options, connections
   * and store: `{ orgId }` (session auth) the same user in another org, with its own token
   * and single-flight; `{ impersonateUserId }` (API key) every call sends
   * `impersonate-user-id`. Made once per org or user and reused; `as()` on a derived client
   * acts from the original credentials. Options that do not fit the auth throw `ConfigError`.
   * @example const inOrg43 = client.as({ orgId: 43 });
   */
  as(options: AsOptions): ApiClient;
  /**
   * Ends background work and every call in flight (each rejects with `ClientClosedError`),
   * and resolves once they have settled; later calls reject with `ClientClosedError`. A
   * `dispatcher` you passed is left open. Closes the clients made by `as()` too; closing
   * one of those ends only its own token (its calls go on over the shared connections).
   */
  close(): Promise<void>;
}

/** A user the mock upstream can log in. */
export interface MockUser {
  /** Login e-mail, compared exactly. */
  email: string;
  /** Login password, compared exactly. */
  password: string;
  /**
   * Organisations the user is an active member of. The login's `selectedOrg` must be one
   * of them (compared as strings, so `1` and `'1'` match); an empty list makes every login
   * of this user answer 404, like the upstream does for a user without an active org.
   */
  orgs: readonly (string | number)[];
  /** @default one more than the highest id given so far (the first user without an id gets 1) */
  id?: number;
  /** @default the part of `email` before the `@` */
  firstName?: string;
  /** @default `''` */
  lastName?: string;
}

/** An API key with the org its synthetic service user acts in. */
export interface MockApiKey {
  /** The value expected in the `x-api-key` header. */
  key: string;
  /** @default the first org of the first user, or `1` when there is none */
  orgId?: string | number;
  /** Id of the key's synthetic service user, as `GET /user/users/me` reports it. @default 0 */
  userId?: number;
}

/**
 * Makes the mock an OAuth 2.0 resource server as well: API calls may then carry an access
 * token of `issuer` — a JWT (RFC 9068) — as `Authorization: Bearer <token>`, or as
 * `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449). Session tokens and API keys
 * keep working beside it.
 */
export interface MockOAuthOptions {
  /** The authorization server's issuer identifier: the `iss` every access token must carry. */
  issuer: string;
  /** Where the issuer's public signing keys are (fetched on first use, then cached); or give `jwks`. */
  jwksUri?: string | undefined;
  /** The issuer's public signing keys, instead of `jwksUri`. */
  jwks?: { keys: readonly JsonWebKey[] } | undefined;
  /** The audience (resource indicator) a token must be for: one of these in its `aud`. */
  audience: string | readonly string[];
  /**
   * Scopes every call's token must carry; a token without one of them gets
   * `403 insufficient_scope`. @default none
   */
  requiredScope?: string | readonly string[] | undefined;
  /**
   * DPoP. `false`: a bearer token is accepted, and a DPoP-bound one (`cnf.jkt`) only with
   * its proof. `true`: every OAuth call needs a proof. `{ nonce: true }`: and each proof
   * must carry the server's current nonce (`401 use_dpop_nonce` with `DPoP-Nonce`
   * otherwise; `rotateDpopNonce()` changes it).
   * @default false
   */
  dpop?: boolean | { nonce: boolean } | undefined;
}

/** Options of {@link startMockUpstream}. Every field is optional. */
export interface MockUpstreamOptions {
  /** Port to listen on; `0` picks a free ephemeral port. @default 0 */
  port?: number | undefined;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string | undefined;
  /**
   * Path the API lives under, like `https://YOUR_ENVIRONMENT.resolver.com/api`.
   * `''` or `'/'` serves at the root. @default '/api'
   */
  prefix?: string | undefined;
  /** Users that can log in. @default [demoUser] */
  users?: readonly MockUser[] | undefined;
  /** Accepted `x-api-key` values. @default [demoApiKey] */
  apiKeys?: readonly MockApiKey[] | readonly string[] | undefined;
  /** Lifetime of an issued session token, by the `now` clock. @default 900_000 (15 minutes) */
  tokenTtlMs?: number | undefined;
  /**
   * When true, a successful login body also carries `expiresIn` (whole seconds).
   * The real upstream does not document one, so the default leaves it out.
   * @default false
   */
  announceTtl?: boolean | undefined;
  /**
   * Clock used to stamp and check token expiry, so tests can move time.
   * @default Date.now
   * @example
   * ```ts
   * let time = 0;
   * const mock = await startMockUpstream({ now: () => time });
   * time += 900_000; // every token issued at 0 is now expired
   * ```
   */
  now?: (() => number) | undefined;
  /**
   * Also accept OAuth access tokens from an authorization server, checked like a resource
   * server does (signature, issuer, audience, expiry, scope, DPoP). Access tokens are checked
   * against the `now` clock too, and so are DPoP proofs' `iat`.
   * @example
   * ```ts
   * const mock = await startMockUpstream({
   *   oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource, dpop: { nonce: true } },
   * });
   * ```
   */
  oauth?: MockOAuthOptions | undefined;
}

/** A {@link MockUser} with every default filled in. */
export interface ResolvedUser {
  readonly id: number;
  readonly email: string;
  readonly password: string;
  readonly orgs: readonly (string | number)[];
  readonly firstName: string;
  readonly lastName: string;
}

/** A {@link MockApiKey} with every default filled in. */
export interface ResolvedApiKey {
  readonly key: string;
  readonly orgId: string | number;
  readonly userId: number;
}

/** {@link MockUpstreamOptions} after validation and defaults. */
export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly prefix: string;
  readonly users: readonly ResolvedUser[];
  readonly apiKeys: ReadonlyMap<string, ResolvedApiKey>;
  readonly tokenTtlMs: number;
  readonly announceTtl: boolean;
  readonly now: () => number;
  readonly oauth: ResolvedOAuthOptions | undefined;
}

/** {@link MockOAuthOptions} after validation and defaults. */
export interface ResolvedOAuthOptions {
  readonly issuer: string;
  /** Exactly one of `jwksUri` and `jwks`. */
  readonly keys: { readonly jwksUri: URL } | { readonly jwks: { keys: readonly JsonWebKey[] } };
  readonly audience: readonly string[];
  readonly requiredScope: readonly string[];
  /** Whether every OAuth call needs a DPoP proof. */
  readonly dpopRequired: boolean;
  /** Whether each DPoP proof must carry the server's current nonce. */
  readonly dpopNonce: boolean;
}

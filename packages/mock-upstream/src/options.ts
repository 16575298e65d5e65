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
}

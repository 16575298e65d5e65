import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** One request to the token endpoint, as the authorization server answered it. */
export interface TokenRequestRecord {
  /** `grant_type` as sent (`client_credentials`, `refresh_token`, …), `undefined` when absent. */
  readonly grantType: string | undefined;
  /**
   * The client the request claimed to be, authenticated or not: the Basic user name, else
   * `client_id` in the body, else the `sub` of a `client_assertion`.
   */
  readonly clientId: string | undefined;
  /** The `resource` parameters as sent (RFC 8707), in order; empty when none. */
  readonly resources: readonly string[];
  /** `scope` as sent. */
  readonly scope: string | undefined;
  /** Whether the request carried a `DPoP` proof header. */
  readonly dpop: boolean;
  /** The HTTP status answered. */
  readonly status: number;
  /** Whether the answer carried an access token (status 200). */
  readonly issued: boolean;
  /** The OAuth `error` answered (`invalid_client`, `use_dpop_nonce`, …), else `undefined`. */
  readonly error: string | undefined;
  /** Whether the answer was one queued with `failNextTokenRequests`, not oidc-provider's. */
  readonly injected: boolean;
}

/**
 * An answer to give a token request instead of processing it. `error` is the OAuth error
 * code of a JSON error body; `status` defaults to 401 for `invalid_client`, else 400.
 * `retryAfter` (seconds) sets `Retry-After`.
 * @example
 * ```ts
 * as.failNextTokenRequests({ error: 'invalid_client' });
 * as.failNextTokenRequests({ status: 503, retryAfter: 2 }, 3);
 * ```
 */
export interface TokenFailure {
  readonly error?: string;
  readonly status?: number;
  readonly retryAfter?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The token endpoint's log and its failure queue: a Koa middleware that runs ahead of
 * oidc-provider's routes, answers a queued failure before oidc-provider sees the request
 * (nothing is consumed, rotated or issued, as after a real 429 or 503), and records every
 * token request with what the authorization server answered.
 */
export class TokenRequests {
  #records: TokenRequestRecord[] = [];
  readonly #queue: TokenFailure[] = [];
  readonly #tokenPath: string;

  constructor(tokenPath: string) {
    this.#tokenPath = tokenPath;
  }

  /** The requests so far, oldest first (a copy). */
  get records(): TokenRequestRecord[] {
    return [...this.#records];
  }

  /** Forgets the requests so far; queued failures stay queued. */
  reset(): void {
    this.#records = [];
  }

  /** Queues `failure` for the next `count` token requests, whichever client sends them. */
  failNext(failure: TokenFailure, count: number): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`count must be a non-negative integer, got ${String(count)}`);
    }
    if (failure.error === undefined && failure.status === undefined) {
      throw new TypeError('a token failure needs an error, a status, or both');
    }
    for (let i = 0; i < count; i++) this.#queue.push(failure);
  }

  /** The middleware to install with `provider.use()`. */
  middleware(): Middleware {
    return async (koa, next) => {
      if (koa.method !== 'POST' || koa.path !== this.#tokenPath) return next();
      const ctx = koa as unknown as KoaContextWithOIDC;
      const failure = this.#queue.shift();
      if (failure !== undefined) return this.#answerFailure(ctx, failure);
      await next();
      const body = ctx.body as { error?: unknown } | undefined;
      this.#records.push({
        ...describe(ctx.headers, formOf(ctx.oidc?.body)),
        status: ctx.status,
        issued: ctx.status === 200,
        error: typeof body?.error === 'string' ? body.error : undefined,
        injected: false,
      });
    };
  }

  async #answerFailure(ctx: KoaContextWithOIDC, failure: TokenFailure): Promise<void> {
    const form = new URLSearchParams(await readText(ctx.req));
    const status = failure.status ?? (failure.error === 'invalid_client' ? 401 : 400);
    ctx.status = status;
    ctx.set('cache-control', 'no-store');
    if (failure.retryAfter !== undefined) ctx.set('retry-after', String(failure.retryAfter));
    for (const [name, value] of Object.entries(failure.headers ?? {})) ctx.set(name, value);
    ctx.body =
      failure.error === undefined
        ? ''
        : { error: failure.error, error_description: 'failure queued by the test' };
    this.#records.push({
      ...describe(ctx.headers, form),
      status,
      issued: false,
      error: failure.error,
      injected: true,
    });
  }
}

/** What a token request asked for, from its headers and its form body. */
function describe(headers: IncomingHttpHeaders, form: URLSearchParams) {
  return {
    grantType: form.get('grant_type') ?? undefined,
    clientId: claimedClientId(headers.authorization, form),
    resources: form.getAll('resource'),
    scope: form.get('scope') ?? undefined,
    dpop: headers.dpop !== undefined,
  };
}

function claimedClientId(authorization: string | undefined, form: URLSearchParams) {
  const basic = /^Basic +(\S+)$/i.exec(authorization ?? '')?.[1];
  if (basic !== undefined) {
    const user = Buffer.from(basic, 'base64').toString('utf8').split(':')[0] ?? '';
    return decodeURIComponent(user.replace(/\+/g, ' '));
  }
  const clientId = form.get('client_id');
  if (clientId !== null) return clientId;
  const assertion = form.get('client_assertion')?.split('.')[1];
  if (assertion === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(assertion, 'base64url').toString('utf8')) as unknown;
    const sub = (claims as { sub?: unknown } | null)?.sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** oidc-provider's parsed form body (`querystring.parse` output) as URLSearchParams. */
function formOf(body: unknown): URLSearchParams {
  const form = new URLSearchParams();
  if (typeof body !== 'object' || body === null) return form;
  for (const [name, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string') form.append(name, item);
    }
  }
  return form;
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

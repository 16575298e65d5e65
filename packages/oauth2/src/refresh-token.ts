import {
  InvalidGrantError,
  type ConfigIssue,
  type LoginContext,
  type SessionAuthStrategy,
} from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';
import { isAllowedEndpoint } from './authorization-server.js';
import { createFamily } from './family.js';
import { loginResult, oauthStrategy, type Grant } from './oauth-strategy.js';
import { checkClientOptions, throwIssues, type OAuthClientOptions } from './options.js';
import { requestParameters } from './parameters.js';
import { createStateSeal } from './sealed-state.js';
import { exchange } from './token-endpoint.js';

/** Options of `refreshToken`. */
export interface RefreshTokenOptions extends Omit<OAuthClientOptions, 'clientAuth'> {
  /**
   * How the client authenticates; a public client (no secret, no key) sends its id only.
   * @default 'client_secret_basic' with a `clientSecret`, 'private_key_jwt' with a `privateKey`, else none
   */
  clientAuth?: NonNullable<OAuthClientOptions['clientAuth']>;
  /** The user's refresh token, as your app obtained it. Never printed. */
  refreshToken: string;
  /**
   * Called with each new refresh token the server rotates to, as soon as it is in use here
   * (not awaited: the token goes on to the store whatever this does; a rejection is
   * ignored). Persist it where the next start of your app reads it.
   */
  onRotate?: (refreshToken: string) => void | Promise<void>;
  /**
   * Revoke the refresh token (RFC 7009) when the client closes: the user's logout. Not for
   * a fleet's shutdown: every instance shares the token.
   * @default false
   */
  revokeOnClose?: boolean;
  /**
   * The revocation endpoint, when `tokenUrl` is given (discovery finds it from `issuer`);
   * on the token endpoint's origin.
   */
  revocationUrl?: string;
}

/** How many past refresh tokens are kept for scrubbing. */
const rememberedTokens = 8;

/**
 * Calls on behalf of a user with their OAuth 2.0 refresh token (RFC 6749 §6): each access
 * token comes from a refresh; a rotated refresh token replaces the old one at once, is
 * handed to `onRotate` and is shared, sealed (AES-GCM under a key derived from the client
 * secret and the first refresh token), through the client's store, so every instance
 * sharing the store refreshes with the newest. A refresh answered `invalid_grant` (revoked,
 * expired, reused) is an `InvalidGrantError` — the user must log in again — and that refresh
 * token is not tried again.
 *
 * @example
 * createApiClient({
 *   baseUrl: 'https://api.example.com',
 *   auth: refreshToken({
 *     issuer: 'https://login.example.com',
 *     clientId: 'web-app',
 *     clientSecret: process.env.CLIENT_SECRET!,
 *     refreshToken: session.refreshToken,
 *     onRotate: (token) => sessions.save(session.id, token),
 *   }),
 * })
 */
export function refreshToken(options: RefreshTokenOptions): SessionAuthStrategy {
  const issues: ConfigIssue[] = [];
  const checked = checkClientOptions(options, issues, true);
  const given = (options ?? {}) as Partial<Record<keyof RefreshTokenOptions, unknown>>;
  if (typeof given.refreshToken !== 'string' || !/^[\x20-\x7E]+$/.test(given.refreshToken)) {
    issues.push({ path: 'auth.refreshToken', message: 'must be a non-empty printable string' });
  }
  if (given.onRotate !== undefined && typeof given.onRotate !== 'function') {
    issues.push({ path: 'auth.onRotate', message: 'must be a function' });
  }
  const revocationUrl = given.revocationUrl;
  if (
    revocationUrl !== undefined &&
    (typeof revocationUrl !== 'string' ||
      !URL.canParse(revocationUrl) ||
      !isAllowedEndpoint(new URL(revocationUrl)))
  ) {
    issues.push({
      path: 'auth.revocationUrl',
      message: 'must be an absolute https URL (plain http only to a loopback host)',
    });
  }
  // The revocation goes through the token endpoint's confined fetch: elsewhere it would be
  // refused, and with a token URL but no revocation URL there is nowhere to send it — either
  // way a logout that revokes nothing, and says nothing, at close.
  if (given.revokeOnClose === true && typeof checked.tokenUrl === 'string') {
    if (revocationUrl === undefined) {
      issues.push({
        path: 'auth.revocationUrl',
        message: 'required with revokeOnClose and a tokenUrl (discovery finds it from an issuer)',
      });
    } else if (
      typeof revocationUrl === 'string' &&
      URL.canParse(revocationUrl) &&
      URL.canParse(checked.tokenUrl) &&
      new URL(revocationUrl).origin !== new URL(checked.tokenUrl).origin
    ) {
      issues.push({
        path: 'auth.revocationUrl',
        message: 'must be on the token endpoint’s origin (the only one the secret goes to)',
      });
    }
  }
  throwIssues(issues, 'invalid refreshToken() options');
  const first = options.refreshToken;
  const { family, keySecrets } = createFamily(checked, revocationUrl as string | undefined);
  const bound = [
    ...(checked.clientSecret === undefined ? [] : [checked.clientSecret]),
    ...keySecrets,
  ];
  // The secrets the store key and the seal are bound to: those the client was made with.
  const seal = createStateSeal(
    [...bound, first],
    `${family.client.client_id}|${family.server.name}`,
  );
  const onRotate = options.onRotate;
  let latest = first;
  let seen: string[] = [first];
  /** A refresh token the server refused: never sent again. */
  const dead = new Set<string>();
  /** The last login's confined fetch and metadata, for the revocation on close. */
  let last:
    { fetch: typeof fetch; server: oauth.AuthorizationServer; auth: oauth.ClientAuth } | undefined;

  const adopt = (token: string) => {
    latest = token;
    if (!seen.includes(token)) seen = [token, ...seen].slice(0, rememberedTokens);
  };

  /** The newest refresh token: the store's (a sharer rotated it), else this client's. */
  async function current(context: LoginContext): Promise<string> {
    if (context.state !== undefined) {
      const opened = await seal.open(context.state);
      if (opened !== undefined && opened !== latest && !dead.has(opened)) adopt(opened);
    }
    return latest;
  }

  const grant: Grant = {
    name: 'refresh_token',
    derivable: false,
    durableState: true,
    secrets: () => [...bound, ...seen],
    async login(context, setup) {
      const { server, client, clientAuth, options: requestOptions } = setup;
      const token = await current(context);
      if (dead.has(token)) throw new InvalidGrantError();
      last = { fetch: context.fetch, server, auth: clientAuth };
      let response: oauth.TokenEndpointResponse;
      try {
        response = await exchange({
          send: () =>
            oauth.refreshTokenGrantRequest(server, client, clientAuth, token, {
              ...requestOptions,
              additionalParameters: requestParameters(setup.parameters),
            }),
          read: (answer) => oauth.processRefreshTokenResponse(server, client, answer),
          dpop: setup.dpop,
          grant: 'refresh_token',
          secrets: () => [...bound, ...seen, ...setup.sent],
          now: context.now,
        });
      } catch (error) {
        if (error instanceof InvalidGrantError) dead.add(token);
        throw error;
      }
      const rotated = response.refresh_token;
      if (typeof rotated === 'string' && rotated !== '' && rotated !== token) {
        adopt(rotated);
        if (onRotate !== undefined) {
          // Not awaited: the old token is consumed already, so the new one must reach the
          // store (below) whatever the app's persistence does; its failure is its own.
          void Promise.resolve()
            .then(() => onRotate(rotated))
            .catch(() => undefined);
        }
      }
      return { ...loginResult(response, setup.dpop), state: await seal.seal(latest) };
    },
    ...(options.revokeOnClose === true
      ? {
          async close() {
            if (last === undefined || dead.has(latest)) return;
            const { server, auth } = last;
            if (server.revocation_endpoint === undefined) return;
            const response = await oauth.revocationRequest(server, family.client, auth, latest, {
              [oauth.customFetch]: last.fetch,
              [oauth.allowInsecureRequests]:
                new URL(server.revocation_endpoint).protocol === 'http:',
              additionalParameters: { token_type_hint: 'refresh_token' },
              signal: AbortSignal.timeout(5_000),
            });
            await oauth.processRevocationResponse(response);
            dead.add(latest);
          },
        }
      : {}),
  };
  return oauthStrategy(family, checked.parameters, grant);
}

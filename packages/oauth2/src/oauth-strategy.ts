import {
  ConfigError,
  LoginFailedError,
  type CallCredentials,
  type LoginContext,
  type LoginResult,
  type SessionAuthStrategy,
} from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';
import type { ServerSource } from './authorization-server.js';
import type { Dpop } from './dpop.js';
import { asParameters, parametersKey, type TokenParameters } from './parameters.js';

/**
 * What a client and its `as()` clients share: the authorization server, the client and
 * its authentication, the DPoP key.
 */
export interface OAuthFamily {
  readonly server: ServerSource;
  readonly client: oauth.Client;
  readonly clientAuth: () => Promise<oauth.ClientAuth>;
  readonly dpop: Dpop | undefined;
  /** Names what the identity cannot name otherwise: a key that stays in this process. */
  readonly keyTag: string;
  readonly ttlMs: number;
  /** Also shown by `util.inspect` and `JSON.stringify` of the strategy: nothing secret. */
  readonly describe: Readonly<Record<string, unknown>>;
}

/** What differs between the grants: how a token is obtained, and what they hold. */
export interface Grant {
  readonly name: 'client_credentials' | 'refresh_token';
  login(context: LoginContext, request: TokenRequestSetup): Promise<LoginResult>;
  secrets(): readonly string[];
  /** Whether it has `as()`. */
  readonly derivable: boolean;
  /** Whether its login state (a rotated refresh token) must outlive the access token. */
  readonly durableState?: boolean;
  close?(): Promise<void>;
}

/** What the token request of one login needs from the family. */
export interface TokenRequestSetup {
  server: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  parameters: TokenParameters;
  options: oauth.TokenEndpointRequestOptions;
  dpop: boolean;
  /**
   * The credentials `clientAuth` put on this login's requests, as sent (the `Basic` value
   * of a form-encoded secret, the `client_assertion`): scrubbed like the secrets.
   */
  sent: readonly string[];
}

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** A token strategy of `family` for one parameter set. */
export function oauthStrategy(
  family: OAuthFamily,
  parameters: TokenParameters,
  grant: Grant,
): SessionAuthStrategy {
  const { server, dpop } = family;
  const identity = [
    'oauth2',
    grant.name,
    server.name,
    family.client.client_id,
    parametersKey(parameters),
    family.keyTag,
  ].join('|');
  const strategy: SessionAuthStrategy = {
    kind: 'session',
    headerNames: ['authorization', 'dpop'],
    ttlMs: family.ttlMs,
    identity,
    loginUrl: server.loginUrl,
    async login(context) {
      const metadata = server.metadata();
      const handle = dpop === undefined ? undefined : await dpop.handle();
      const endpoint = new URL(metadata.token_endpoint!);
      const sent: string[] = [];
      return grant.login(context, {
        server: metadata,
        client: family.client,
        clientAuth: recording(await family.clientAuth(), sent),
        parameters,
        dpop: handle !== undefined,
        sent,
        options: {
          [oauth.customFetch]: context.fetch,
          [oauth.allowInsecureRequests]: endpoint.protocol === 'http:',
          signal: context.signal,
          headers: context.headers,
          ...(handle === undefined ? {} : { DPoP: handle }),
        },
      });
    },
    authorize:
      dpop === undefined ? bearer() : (token, method, url) => dpop.authorize(token, method, url),
    ...(dpop === undefined
      ? {}
      : {
          challenge: (response: Response) => dpop.challenge(response),
          observe: (response: Response) => dpop.observe(response),
        }),
    derive(options) {
      if (!grant.derivable) {
        throw new ConfigError(
          [
            {
              path: 'as.options',
              message:
                'a refreshToken() client has no as(): its rotating refresh token is one chain; ask for the scope in its options',
            },
          ],
          'invalid client.as() options',
        );
      }
      const derived = asParameters(options, parameters);
      return { strategy: oauthStrategy(family, derived, grant), key: parametersKey(derived) };
    },
    secrets: () => grant.secrets(),
    ...(grant.durableState === true ? { durableState: true } : {}),
    ...(grant.close === undefined ? {} : { close: () => grant.close!() }),
  };
  const describe = { ...family.describe, ...parameters };
  Object.defineProperties(strategy, {
    toJSON: { value: () => describe },
    [inspect]: { value: () => `OAuthStrategy ${JSON.stringify(describe)}` },
  });
  return strategy;
}

/**
 * `auth`, noting in `sent` each credential it puts on a request in the form it is sent: a
 * secret with characters that are form-encoded is not itself in the `Basic` value, and an
 * assertion is made per request; a server quoting them back must not reach any error.
 */
function recording(auth: oauth.ClientAuth, sent: string[]): oauth.ClientAuth {
  return async (as, client, body, headers) => {
    await auth(as, client, body, headers); // private_key_jwt signs asynchronously
    const basic = /^basic\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
    if (basic !== undefined) sent.push(basic);
    for (const name of ['client_secret', 'client_assertion']) {
      const value = body.get(name);
      if (value !== null && value !== '') {
        sent.push(value, new URLSearchParams({ [name]: value }).toString().slice(name.length + 1));
        // An assertion's signature alone is what makes it usable: quoted alone, it goes too.
        const signature = name === 'client_assertion' ? value.split('.')[2] : undefined;
        if (signature !== undefined && signature !== '') sent.push(signature);
      }
    }
  };
}

/** `Authorization: Bearer`, the same object for the same token. */
function bearer(): (token: string) => CallCredentials {
  let last: { token: string; headers: CallCredentials } | undefined;
  return (token) => {
    if (last?.token !== token) last = { token, headers: { authorization: `Bearer ${token}` } };
    return last.headers;
  };
}

/** The token response as a login result; a DPoP request must get a DPoP-bound token. */
export function loginResult(
  response: oauth.TokenEndpointResponse,
  dpop: boolean,
  status = 200,
): LoginResult & { token: string } {
  if (dpop && response.token_type.toLowerCase() !== 'dpop') {
    throw new LoginFailedError(
      'the authorization server did not bind the token to the DPoP key (token_type is not DPoP)',
      { status },
    );
  }
  return {
    token: response.access_token,
    ...(typeof response.expires_in === 'number' ? { expiresInMs: response.expires_in * 1000 } : {}),
  };
}

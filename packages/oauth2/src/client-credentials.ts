import type { ConfigIssue, SessionAuthStrategy } from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';
import { createFamily } from './family.js';
import { loginResult, oauthStrategy, type Grant } from './oauth-strategy.js';
import { checkClientOptions, throwIssues, type OAuthClientOptions } from './options.js';
import { requestParameters } from './parameters.js';
import { exchange } from './token-endpoint.js';

/** Options of `clientCredentials`. */
export type ClientCredentialsOptions = OAuthClientOptions;

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for service-to-service calls: a token from
 * the token endpoint (given, or found by discovery from the issuer), sent as
 * `Authorization: Bearer` (or `DPoP` with a proof per call) inside the base URL only. Every
 * tokenfetch guarantee holds: one token request under any burst, refresh-ahead, re-auth on
 * 401 with replay, cooldowns, one token per fleet through a shared store.
 * `client.as({ scope, resource })` is the same client for other parameters: its own token,
 * single flight and store key.
 *
 * @example
 * createApiClient({
 *   baseUrl: 'https://api.example.com',
 *   auth: clientCredentials({
 *     tokenUrl: 'https://auth.example.com/oauth2/token',
 *     clientId: 'billing-sync',
 *     clientSecret: process.env.CLIENT_SECRET!,
 *     scope: 'invoices:read',
 *   }),
 * })
 */
export function clientCredentials(options: ClientCredentialsOptions): SessionAuthStrategy {
  const issues: ConfigIssue[] = [];
  const checked = checkClientOptions(options, issues, false);
  throwIssues(issues, 'invalid clientCredentials() options');
  const { family, keySecrets } = createFamily(checked);
  const secrets = [
    ...(checked.clientSecret === undefined ? [] : [checked.clientSecret]),
    ...keySecrets,
  ];
  const grant: Grant = {
    name: 'client_credentials',
    derivable: true,
    secrets: () => secrets,
    async login(context, setup) {
      const { server, client, clientAuth, options: requestOptions } = setup;
      const response = await exchange({
        send: () =>
          oauth.clientCredentialsGrantRequest(
            server,
            client,
            clientAuth,
            requestParameters(setup.parameters),
            requestOptions,
          ),
        read: (answer) => oauth.processClientCredentialsResponse(server, client, answer),
        dpop: setup.dpop,
        grant: 'client_credentials',
        secrets: () => [...secrets, ...setup.sent],
        now: context.now,
      });
      return loginResult(response, setup.dpop);
    },
  };
  return oauthStrategy(family, checked.parameters, grant);
}

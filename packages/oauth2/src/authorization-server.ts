import { LoginFailedError, type DiscoveryContext } from '@tokenfetch/core';
import * as oauth from 'oauth4webapi';

const loopback = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** https, or plain http to a loopback host (the rule of `baseUrl`). */
export function isAllowedEndpoint(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback.test(url.hostname));
}

/** Where the token endpoint (and the revocation endpoint) are: given, or discovered. */
export interface ServerSource {
  /** The strategy's `loginUrl`: the token URL, or a function that discovers it. */
  readonly loginUrl: string | ((context: DiscoveryContext) => Promise<string>);
  /** The metadata to call the token endpoint with; after `loginUrl` has answered. */
  metadata(): oauth.AuthorizationServer;
  /** What the tokenfetch options named: the token URL or the issuer. */
  readonly name: string;
}

/**
 * A token URL given in the options: its metadata names it as the issuer too, so that a
 * `private_key_jwt` assertion's `aud` is the token endpoint (RFC 7523 §3).
 */
export function givenServer(tokenUrl: string, revocationUrl: string | undefined): ServerSource {
  const metadata: oauth.AuthorizationServer = {
    issuer: tokenUrl,
    token_endpoint: tokenUrl,
    ...(revocationUrl === undefined ? {} : { revocation_endpoint: revocationUrl }),
  };
  return { loginUrl: tokenUrl, metadata: () => metadata, name: tokenUrl };
}

/**
 * Discovery from an issuer (RFC 8414 `/.well-known/oauth-authorization-server`, then OpenID
 * Connect's `/.well-known/openid-configuration`), once per strategy family; a failure is
 * not kept, so the next login tries again. The issuer in the answer must be the one asked.
 */
export function discoveredServer(issuer: string): ServerSource {
  const issuerUrl = new URL(issuer);
  let found: oauth.AuthorizationServer | undefined;
  let pending: Promise<oauth.AuthorizationServer> | undefined;
  const discover = async ({ fetch, signal }: DiscoveryContext) => {
    const options = {
      [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<'GET', undefined>) =>
        fetch(url, init as unknown as RequestInit),
      [oauth.allowInsecureRequests]: issuerUrl.protocol === 'http:',
      signal,
    };
    let response = await oauth.discoveryRequest(issuerUrl, { ...options, algorithm: 'oauth2' });
    if (response.status === 404) {
      await response.body?.cancel();
      response = await oauth.discoveryRequest(issuerUrl, { ...options, algorithm: 'oidc' });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      const status = response.status;
      throw new LoginFailedError(`discovery of the authorization server answered ${status}`, {
        status,
        retryable: status === 408 || status === 429 || status >= 500,
      });
    }
    let metadata: oauth.AuthorizationServer;
    try {
      metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (error) {
      throw new LoginFailedError(
        `discovery of the authorization server gave unusable metadata (${codeOf(error)})`,
        { status: 200 },
      );
    }
    if (metadata.token_endpoint === undefined) {
      throw new LoginFailedError('the authorization server names no token_endpoint', {
        status: 200,
      });
    }
    return metadata;
  };
  return {
    name: issuer,
    async loginUrl(context) {
      if (found === undefined) {
        pending ??= discover(context).finally(() => {
          pending = undefined;
        });
        found = await pending;
      }
      return found.token_endpoint!;
    },
    metadata: () => found!,
  };
}

/** oauth4webapi's error code, never its message (which may quote a value). */
export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'unexpected answer';
}

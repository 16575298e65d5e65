import type Provider from 'oidc-provider';
import type { Resources } from './resources.js';

/** What {@link issueRefreshToken} makes a refresh token for. */
export interface RefreshTokenRequest {
  /** The client the token is issued to. */
  readonly clientId: string;
  /**
   * The user (`sub` of the access tokens it gets). The mock upstream maps a `sub` equal to
   * one of its users' ids to that user, and `'1'` is its demo user.
   * @default '1'
   */
  readonly accountId?: string;
  /**
   * The resources granted (RFC 8707). With one, a refresh gets a token for it without
   * naming it; with several, each refresh names one (`resource=`).
   * @default the server's default resource
   */
  readonly resource?: string | readonly string[];
  /** The scopes granted, space-separated. @default every scope of the resources granted */
  readonly scope?: string;
}

/**
 * Makes a refresh token the way an authorization-code exchange would — a Grant for the
 * user and client with the resources' scopes, and a RefreshToken under it — through
 * oidc-provider's own models, so no browser, login form or consent is involved. The token
 * is then as real as any: the `refresh_token` grant checks, rotates and revokes it.
 */
export async function issueRefreshToken(
  provider: Provider,
  resources: Resources,
  request: RefreshTokenRequest,
): Promise<string> {
  const client = await provider.Client.find(request.clientId);
  if (client === undefined) throw new Error(`no client ${request.clientId} is registered`);
  const accountId = request.accountId ?? '1';
  const granted = [request.resource ?? resources.default].flat();
  const definitions = granted.map((resource) => {
    const definition = resources.get(resource);
    if (definition === undefined) throw new Error(`no resource ${resource} is defined`);
    return definition.scope.split(' ');
  });
  const requested = new Set(request.scope?.split(' ') ?? definitions.flat());
  requested.delete('');

  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope('offline_access');
  granted.forEach((resource, i) => {
    const scope = definitions[i]?.filter((name) => requested.has(name)) ?? [];
    grant.addResourceScope(resource, scope.join(' '));
  });
  const grantId = await grant.save();

  const token = new provider.RefreshToken({
    accountId,
    client,
    grantId,
    gty: 'authorization_code',
    scope: ['offline_access', ...requested].join(' '),
    resource: granted.length === 1 ? granted[0] : granted,
    rotations: 0,
    expiresWithSession: false,
  });
  return token.save();
}

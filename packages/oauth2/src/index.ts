/**
 * OAuth 2.0 strategies for tokenfetch, on oauth4webapi: `clientCredentials()` for
 * service-to-service calls and `refreshToken()` for calls on behalf of a user, with
 * `private_key_jwt`, DPoP and discovery. Use them as the `auth` of `createApiClient`, of
 * every adapter and of `createClientPool`.
 */
export { clientCredentials, type ClientCredentialsOptions } from './client-credentials.js';
export { refreshToken, type RefreshTokenOptions } from './refresh-token.js';
export type { OAuthClientOptions } from './options.js';
export type { PrivateKeyInput } from './client-auth.js';

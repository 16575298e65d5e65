// The public API of @tokenfetch/core. What framework adapters need lives in
// `@tokenfetch/core/adapter` (adapter.ts).
export {
  createApiClient,
  type ApiClient,
  type ApiFetch,
  type ResponseSchema,
} from './client/api-client.js';
export { apiKeyAuth, type ApiKeyAuthOptions } from './auth/api-key.js';
export { sessionTokenAuth, type SessionTokenAuthOptions } from './auth/session.js';
export type {
  ApiKeyAuthStrategy,
  AuthStrategy,
  CallCredentials,
  DerivedStrategy,
  DiscoveryContext,
  LoginContext,
  SessionAuthStrategy,
} from './auth/strategy.js';
export {
  createClientPool,
  type ClientPool,
  type ClientPoolOptions,
  type TenantOptions,
} from './client/client-pool.js';
export { defaults } from './shared/defaults.js';
export type { AsOptions, OAuthAsOptions } from './auth/identity.js';
export { loadOptionsFromEnv } from './client/env.js';
export {
  ClientClosedError,
  ConfigError,
  CrossOriginError,
  InvalidCredentialsError,
  InvalidGrantError,
  InvalidResponseError,
  isTokenFetchError,
  LoginFailedError,
  LoginNotFoundError,
  NoActiveOrgError,
  TokenFetchError,
  UpstreamError,
  type ConfigIssue,
  type TokenFetchErrorCode,
} from './shared/errors.js';
export type {
  EventOrigin,
  LoginEvent,
  LoginFailedEvent,
  LoginRetryEvent,
  ReauthEvent,
  RefreshAheadEvent,
  StoreErrorEvent,
  TokenFetchEvent,
  CloseEvent,
  TokenFetchListener,
} from './shared/events.js';
export { MemoryTokenStore } from './engine/memory-store.js';
export type { ApiClientOptions, ApiKeyAuth, CredentialsAuth } from './client/options.js';
export { parseLoginResponse } from './engine/parse-login-response.js';
export {
  createTokenManager,
  type TokenManager,
  type TokenManagerOptions,
} from './engine/token-manager.js';
export type {
  LoginResult,
  SharedFailure,
  StoredToken,
  TokenLease,
  TokenStore,
} from './engine/token-store.js';

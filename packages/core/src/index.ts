// The public API of @tokenfetch/core. What framework adapters need lives in
// `@tokenfetch/core/adapter` (adapter.ts).
export {
  createApiClient,
  type ApiClient,
  type ApiFetch,
  type ResponseSchema,
} from './api-client.js';
export {
  apiKeyAuth,
  sessionTokenAuth,
  type ApiKeyAuthOptions,
  type ApiKeyAuthStrategy,
  type AuthStrategy,
  type LoginContext,
  type SessionAuthStrategy,
  type SessionTokenAuthOptions,
} from './auth-strategies.js';
export {
  createClientPool,
  type ClientPool,
  type ClientPoolOptions,
  type TenantOptions,
} from './client-pool.js';
export { defaults } from './defaults.js';
export type { AsOptions } from './identity.js';
export { loadOptionsFromEnv } from './env.js';
export {
  ClientClosedError,
  ConfigError,
  CrossOriginError,
  InvalidCredentialsError,
  InvalidResponseError,
  isTokenFetchError,
  LoginFailedError,
  NoActiveOrgError,
  TokenFetchError,
  UpstreamError,
  type ConfigIssue,
  type TokenFetchErrorCode,
} from './errors.js';
export type {
  EventOrigin,
  LoginEvent,
  LoginFailedEvent,
  LoginRetryEvent,
  ReauthEvent,
  RefreshAheadEvent,
  StoreErrorEvent,
  TokenFetchEvent,
  TokenFetchListener,
} from './events.js';
export { MemoryTokenStore } from './memory-store.js';
export type { ApiClientOptions, ApiKeyAuth, CredentialsAuth } from './options.js';
export { parseLoginResponse } from './parse-login-response.js';
export {
  createTokenManager,
  type TokenManager,
  type TokenManagerOptions,
} from './token-manager.js';
export type {
  LoginResult,
  SharedFailure,
  StoredToken,
  TokenLease,
  TokenStore,
} from './token-store.js';

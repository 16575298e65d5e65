export { startAuthorizationServer } from './authorization-server.js';
export type { AuthorizationServer, AuthorizationServerOptions } from './authorization-server.js';
export type { RefreshTokenRequest } from './refresh-tokens.js';
export { defaultResourceIndicator } from './resources.js';
export type { ResourceDefinition } from './resources.js';
export type {
  PrivateKeyJwtClient,
  PublicClient,
  SecretClient,
  TestClients,
} from './test-clients.js';
export type { TokenFailure, TokenRequestRecord } from './token-requests.js';

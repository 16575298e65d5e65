export { startMockUpstream } from './mock-upstream.js';
export type {
  MockActingAs,
  MockOAuthGrant,
  MockRecordedRequest,
  MockUpstream,
  MockUpstreamStats,
} from './mock-upstream.js';
export type { MockApiKey, MockOAuthOptions, MockUpstreamOptions, MockUser } from './options.js';
export type { MockOAuthRejection } from './oauth-resource-server.js';
export type {
  MockLoginHook,
  MockLoginHookResult,
  MockLoginRequest,
  MockLoginResponse,
} from './login-hook.js';
export { DEMO_API_KEY, DEMO_USER, demoApiKey, demoUser } from './demo.js';

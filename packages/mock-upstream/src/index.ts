export { startMockUpstream } from './mock-upstream.js';
export type {
  MockActingAs,
  MockRecordedRequest,
  MockUpstream,
  MockUpstreamStats,
} from './mock-upstream.js';
export type { MockApiKey, MockUpstreamOptions, MockUser } from './options.js';
export type {
  MockLoginHook,
  MockLoginHookResult,
  MockLoginRequest,
  MockLoginResponse,
} from './login-hook.js';
export { DEMO_API_KEY, DEMO_USER, demoApiKey, demoUser } from './demo.js';

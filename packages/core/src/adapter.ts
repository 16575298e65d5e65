// `@tokenfetch/core/adapter`: what a framework adapter needs, kept off the main entry.
// The kit itself lives in adapter-kit/; this file only names what is public.
export {
  clientFromOptions,
  createApiFetchBinder,
  type Disconnect,
  type DisconnectSource,
} from './adapter-kit/api-fetch-binder.js';
export {
  createRequestBinder,
  createRequestBinding,
  type AuthMiddlewareOptions,
  type LoggingOptions,
  type RequestBinding,
} from './adapter-kit/request-binder.js';
export {
  createLoginFailureLog,
  describeLoginCause,
  describeLoginFailure,
  isLoginFailure,
  loginFailureWriter,
  type LoginFailureCause,
  type LoginFailureLogger,
} from './adapter-kit/login-failure-log.js';
export { toProblemDetails, type ProblemDetails } from './adapter-kit/problem-details.js';
export type { ApiFetch } from './client/api-client.js';
export { scrubSecrets } from './guards/redact.js';
export { parseRetryAfter } from './engine/retry-after.js';
export { clientInstance } from './shared/events.js';
export { unrefTimer } from './shared/abort.js';

// The names of every span, span event, instrument and attribute, in OpenTelemetry's
// semantic-convention style (`server.address`, `error.type` and
// `http.response.status_code` are the conventions' own).

export const instrumentationScope = '@tokenfetch/opentelemetry';

export const spanNames = {
  login: 'tokenfetch.login',
} as const;

export const spanEventNames = {
  /** On the login span, one per retried attempt. */
  loginRetry: 'tokenfetch.login.retry',
  /** On the span active when a call was re-authenticated (e.g. the HTTP server span). */
  reauth: 'tokenfetch.reauth',
} as const;

export const metricNames = {
  logins: 'tokenfetch.logins',
  loginFailures: 'tokenfetch.login.failures',
  reauths: 'tokenfetch.reauths',
  storeErrors: 'tokenfetch.store.errors',
  loginDuration: 'tokenfetch.login.duration',
  tokenRemaining: 'tokenfetch.token.remaining',
} as const;

export const attributeNames = {
  serverAddress: 'server.address',
  errorType: 'error.type',
  statusCode: 'http.response.status_code',
  source: 'tokenfetch.source',
  background: 'tokenfetch.background',
  replayed: 'tokenfetch.replayed',
  storeOperation: 'tokenfetch.store.operation',
  clientId: 'tokenfetch.client.id',
  attempt: 'tokenfetch.login.attempt',
} as const;

/**
 * Buckets of the login duration histogram, in seconds: from a store read (a few ms) to
 * the default login timeout (10 s). The SDK's default buckets are made for milliseconds.
 */
export const loginDurationBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

import { isTokenFetchError, type TokenFetchErrorCode } from '../shared/errors.js';
import { describeLoginFailure, loginFailureCodes } from './login-failure-log.js';

/** An RFC 9457 problem document. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: TokenFetchErrorCode;
}

const problems: Record<TokenFetchErrorCode, { status: number; title: string }> = {
  E_INVALID_CREDENTIALS: { status: 502, title: 'Upstream login refused the credentials' },
  E_NO_ACTIVE_ORG: { status: 502, title: 'Upstream user is not an active member of any org' },
  E_LOGIN_NOT_FOUND: { status: 502, title: 'Upstream login is not at the configured base URL' },
  E_INVALID_GRANT: { status: 502, title: 'Upstream login refused the grant (refresh token)' },
  E_LOGIN_FAILED: { status: 502, title: 'Upstream login failed' },
  E_UPSTREAM_STATUS: { status: 502, title: 'Upstream answered with an error' },
  E_INVALID_RESPONSE: { status: 502, title: 'Upstream answer was not usable' },
  E_CROSS_ORIGIN: { status: 500, title: 'Refused to send credentials outside the API' },
  E_CONFIG: { status: 500, title: 'tokenfetch is misconfigured' },
  E_CLOSED: { status: 503, title: 'The API client is closed' },
};

/**
 * The problem document for a tokenfetch error (`undefined` for any other error):
 * login failures are 502, a refused cross-origin call or bad configuration 500, a closed
 * client 503. Messages of tokenfetch errors carry no secrets, so `detail` is the message;
 * a login's network failure adds its cause's class and what to check (`ECONNREFUSED: nothing
 * listens there: …`), never the address: that is for the app's log, not its callers.
 */
export function toProblemDetails(error: unknown): ProblemDetails | undefined {
  if (!isTokenFetchError(error)) return undefined;
  // Another installed copy of core (a newer one) may have a code this one does not know:
  // the adapter's error handler must still answer, not throw.
  const { status, title } = Object.hasOwn(problems, error.code)
    ? problems[error.code]
    : { status: 500, title: 'tokenfetch failed' };
  const detail = loginFailureCodes.has(error.code)
    ? describeLoginFailure(error, 'class')
    : error.message;
  return {
    type: `urn:tokenfetch:error:${error.code.slice(2).toLowerCase().replaceAll('_', '-')}`,
    title,
    status,
    detail,
    code: error.code,
  };
}

import { proxyFromEnv } from '#platform';
import { ConfigError, type ConfigIssue } from '../shared/errors.js';
import { apiKeyAuth } from '../auth/api-key.js';
import { isOrgId, orgIdProblem, sessionTokenAuth } from '../auth/session.js';
import { parseOptions, type ApiClientOptions } from './options.js';

/**
 * Reads client options from environment variables (prefix `API_` by default):
 * `API_BASE_URL`, and either `API_EMAIL` + `API_PASSWORD` + `API_ORG_ID` or `API_KEY`
 * (+ `API_IMPERSONATE_USER_ID`); optionally `API_TIMEOUT_MS` and `API_LOGIN_TIMEOUT_MS`.
 * With `HTTPS_PROXY` or `HTTP_PROXY` set (lower-case forms too, and `NO_PROXY`; no
 * prefix), calls and logins go through that proxy: the options carry an undici
 * `EnvHttpProxyAgent` as `dispatcher` (on Node; elsewhere the runtime's `fetch` reads them
 * itself, or has none). With no `env` and no `process` (Workers), nothing is set. Empty strings count as unset. A missing or bad variable throws one `ConfigError` that
 * names every variable at fault. Secrets are held in the returned strategy, so the options
 * can be logged safely.
 *
 * @example
 * const client = createApiClient(loadOptionsFromEnv());
 */
export function loadOptionsFromEnv(
  env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env,
  { prefix = 'API_' }: { prefix?: string } = {},
): ApiClientOptions {
  const read = (name: string): string | undefined => {
    const value = env[prefix + name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  const issues: ConfigIssue[] = [];
  const required = (name: string): string => {
    const value = read(name);
    if (value === undefined) issues.push({ path: prefix + name, message: 'required' });
    return value ?? '';
  };
  const milliseconds = (name: string): number | undefined => {
    const value = read(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value.trim())) {
      issues.push({ path: prefix + name, message: 'must be a whole number of milliseconds' });
      return undefined;
    }
    return Number(value);
  };

  const baseUrl = required('BASE_URL');
  const apiKey = read('KEY');
  const sessionVariables = ['EMAIL', 'PASSWORD', 'ORG_ID'].filter(
    (name) => read(name) !== undefined,
  );
  let auth: ApiClientOptions['auth'];
  if (apiKey !== undefined) {
    if (sessionVariables.length > 0) {
      issues.push({
        path: prefix + 'KEY',
        message: `set either ${prefix}KEY or ${prefix}EMAIL/${prefix}PASSWORD/${prefix}ORG_ID, not both`,
      });
    }
    const impersonateUserId = read('IMPERSONATE_USER_ID');
    try {
      auth = apiKeyAuth(
        impersonateUserId === undefined ? { apiKey } : { apiKey, impersonateUserId },
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) {
        issues.push({ ...issue, path: variableFor(`auth.${issue.path}`, prefix) });
      }
      auth = { apiKey: '' }; // reported above; the options are not returned
    }
  } else {
    const email = required('EMAIL');
    const password = required('PASSWORD');
    const orgId = required('ORG_ID').trim();
    if (orgId !== '' && !isOrgId(orgId)) {
      issues.push({ path: prefix + 'ORG_ID', message: orgIdProblem });
    }
    // Reported above when missing or not a number; the options are not returned then.
    auth = sessionTokenAuth({ email, password, orgId: isOrgId(orgId) ? orgId : 0 });
  }
  const timeoutMs = milliseconds('TIMEOUT_MS');
  const loginTimeoutMs = milliseconds('LOGIN_TIMEOUT_MS');
  const dispatcher = proxyFromEnv(env, issues);

  const options: ApiClientOptions = {
    baseUrl,
    auth,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(loginTimeoutMs === undefined ? {} : { loginTimeoutMs }),
    ...(dispatcher === undefined ? {} : { dispatcher }),
  };
  // Checked even when a variable is missing, so that one error lists every problem.
  const reported = new Set(issues.map((issue) => issue.path));
  try {
    parseOptions(options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const issue of error.issues) {
      const path = variableFor(issue.path, prefix);
      if (!reported.has(path)) issues.push({ ...issue, path });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, environmentTitle(env, issues));
  return options;
}

/** Says, when a variable is missing from `process.env`, that a `.env` file is not read by itself. */
function environmentTitle(env: object, issues: readonly ConfigIssue[]): string {
  const fromProcess = typeof process !== 'undefined' && env === process.env;
  if (!fromProcess || !issues.some((issue) => issue.message === 'required')) {
    return 'invalid tokenfetch environment';
  }
  return 'invalid tokenfetch environment, read from process.env (nothing loads a .env file by itself: start with node --env-file=.env app.js, or npx tsx --env-file=.env app.ts)';
}

const variables: Record<string, string> = {
  baseUrl: 'BASE_URL',
  'auth.email': 'EMAIL',
  'auth.password': 'PASSWORD',
  'auth.orgId': 'ORG_ID',
  'auth.apiKey': 'KEY',
  'auth.impersonateUserId': 'IMPERSONATE_USER_ID',
  timeoutMs: 'TIMEOUT_MS',
  loginTimeoutMs: 'LOGIN_TIMEOUT_MS',
};

function variableFor(path: string, prefix: string): string {
  const name = variables[path];
  return name === undefined ? path : prefix + name;
}

import {
  ConfigError,
  loadOptionsFromEnv,
  type ApiClientOptions,
  type ConfigIssue,
} from '@tokenfetch/core';

/** Command-line values that stand in for `API_*` variables. */
export interface ConnectionFlags {
  'base-url'?: string | undefined;
  email?: string | undefined;
  org?: string | undefined;
}

/** Where the settings come from and how to ask for a missing password. */
export interface ConfigSources {
  /** The environment, after any `--env-file`. */
  env: Readonly<Record<string, string | undefined>>;
  flags: ConnectionFlags;
  /** `session`: the `token` command, which needs a login; `any`: a session or `API_KEY`. */
  auth: 'session' | 'any';
  /** Asks for the password, when one can be asked for (stdin is a terminal). */
  askPassword?: ((email: string) => Promise<string>) | undefined;
  /** Receives every secret read, so that messages can be scrubbed of them. */
  onSecret: (secret: string) => void;
}

const flagOf: Record<string, string> = {
  API_BASE_URL: '--base-url',
  API_EMAIL: '--email',
  API_ORG_ID: '--org',
};

const isSet = (value: string | undefined): value is string =>
  value !== undefined && value.trim() !== '';

/** Which session a configuration logs in to: what the token cache is keyed by. */
export interface SessionIdentity {
  baseUrl: string;
  email: string;
  orgId: string;
}

/** What a command needs to build its client. */
export interface ClientSettings {
  options: ApiClientOptions;
  /** With session auth: who logs in, and with which password. Undefined with `API_KEY`. */
  session: (SessionIdentity & { password: string }) | undefined;
}

/**
 * Client options from flags (which win) and the environment, read by core's
 * `loadOptionsFromEnv`. With session credentials and no `API_PASSWORD`, the password is
 * asked for on a terminal, once everything else is known to be valid.
 */
export async function buildClientOptions(sources: ConfigSources): Promise<ClientSettings> {
  const { auth, askPassword, onSecret } = sources;
  const { env, apiKeyIgnored } = mergeSources(sources, auth);
  for (const name of ['API_PASSWORD', 'API_KEY']) {
    const value = env[name];
    if (isSet(value)) onSecret(value);
  }

  const session = !isSet(env.API_KEY);
  const prompting = session && !isSet(env.API_PASSWORD) && askPassword !== undefined;
  if (prompting) {
    // Check everything else first: no point in asking for a password that cannot be used.
    load({ ...env, API_PASSWORD: 'placeholder' }, { apiKeyIgnored, prompting });
    const password = await askPassword(env.API_EMAIL ?? '');
    onSecret(password);
    env.API_PASSWORD = password;
  }
  const options = load(env, { apiKeyIgnored, prompting });
  return {
    options,
    session: session ? { ...identityOf(env), password: env.API_PASSWORD ?? '' } : undefined,
  };
}

/**
 * The session a configuration logs in to, without its password (`logout` needs none).
 * Checked like the rest: a missing base URL, email or org is a `ConfigError`.
 */
export function sessionIdentity(
  sources: Omit<ConfigSources, 'auth' | 'onSecret'>,
): SessionIdentity {
  const { env, apiKeyIgnored } = mergeSources(sources, 'session');
  load({ ...env, API_PASSWORD: 'not needed' }, { apiKeyIgnored, prompting: false });
  return identityOf(env);
}

function mergeSources(
  sources: Pick<ConfigSources, 'env' | 'flags'>,
  auth: ConfigSources['auth'],
): { env: Record<string, string | undefined>; apiKeyIgnored: boolean } {
  const { flags } = sources;
  const env: Record<string, string | undefined> = { ...sources.env };
  if (flags['base-url'] !== undefined) env.API_BASE_URL = flags['base-url'];
  if (flags.email !== undefined) env.API_EMAIL = flags.email;
  if (flags.org !== undefined) env.API_ORG_ID = flags.org;

  let apiKeyIgnored = false;
  if (auth === 'session' && isSet(env.API_KEY)) {
    // A session token needs a login; an API key has none to offer.
    apiKeyIgnored = true;
    delete env.API_KEY;
    delete env.API_IMPERSONATE_USER_ID;
  }
  return { env, apiKeyIgnored };
}

/** The identity exactly as core's login sends it (the values were checked by `load`). */
function identityOf(env: Record<string, string | undefined>): SessionIdentity {
  return {
    baseUrl: env.API_BASE_URL ?? '',
    email: env.API_EMAIL ?? '',
    orgId: env.API_ORG_ID ?? '',
  };
}

function load(
  env: Record<string, string | undefined>,
  context: { apiKeyIgnored: boolean; prompting: boolean },
): ApiClientOptions {
  try {
    return loadOptionsFromEnv(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const issues = error.issues.map((issue) => explain(issue, context.prompting));
    const title = context.apiKeyIgnored
      ? 'a session token needs API_EMAIL, API_PASSWORD and API_ORG_ID (API_KEY has no session)'
      : 'invalid configuration';
    throw new ConfigError(issues, title);
  }
}

function explain(issue: ConfigIssue, prompting: boolean): ConfigIssue {
  const flag = flagOf[issue.path];
  if (flag !== undefined) return { path: `${issue.path} (${flag})`, message: issue.message };
  if (issue.path === 'API_PASSWORD' && issue.message === 'required' && !prompting) {
    return {
      path: issue.path,
      message: 'required (set it in the environment, or run on a terminal to be asked)',
    };
  }
  return issue;
}

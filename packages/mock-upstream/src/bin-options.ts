import { demoApiKey, demoUser } from './demo.js';

/** What `tokenfetch-mock` was asked to do. */
export interface BinOptions {
  port: number;
  host: string;
  help: boolean;
  /**
   * `--write-env PATH`: write the `API_*` variables there instead of printing the secrets.
   * Not `--env-file`: Node stops (exit 9) on an `--env-file` naming a missing file anywhere on
   * its command line, a script's arguments included (nodejs/node#54232).
   */
  writeEnv: string | undefined;
  /** `--token-ttl-ms`: the life of an issued token. */
  tokenTtlMs?: number;
  /** `--announce-ttl`: logins answer `expiresIn` too. */
  announceTtl: boolean;
  /** `--revoke-every-ms`: every token issued so far is revoked this often. */
  revokeEveryMs?: number;
}

/** Port used when neither `--port` nor `PORT` is given. */
export const defaultBinPort = 4010;

/** `tokenfetch-mock --help`. */
export const usage = `Usage: tokenfetch-mock [--port N] [--host HOST] [--write-env PATH]
                       [--token-ttl-ms MS] [--announce-ttl] [--revoke-every-ms MS]

Starts a mock of Resolver Core's REST API (session tokens and API keys) for local
development and tests.

Options:
  --port N, -p N         port to listen on (default: $PORT, else ${defaultBinPort}; 0 = any free port)
  --host HOST            interface to listen on (default: 127.0.0.1)
  --write-env PATH       write the API_* variables of the demo user to PATH (mode 0600), for
                         \`node --env-file=PATH app.js\`; rewrites a file it wrote before, and
                         refuses any other
  --token-ttl-ms MS      life of an issued session token (default: 900000, 15 minutes)
  --announce-ttl         logins answer { token, expiresIn } (whole seconds), not { token }
  --revoke-every-ms MS   revoke every token issued so far this often (their calls get 403)
  --help, -h             show this help

Signals: SIGUSR2 revokes every token issued so far, now.
`;

/** Parses the command line and environment; throws an Error with a user-facing message. */
export function parseBinArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BinOptions {
  const options: BinOptions = {
    port: env.PORT === undefined || env.PORT === '' ? defaultBinPort : parsePort(env.PORT, 'PORT'),
    host: '127.0.0.1',
    help: false,
    writeEnv: undefined,
    announceTtl: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [name, inlineValue] = arg.startsWith('--') ? splitOnce(arg, '=') : [arg, undefined];
    const value = () => {
      const next = inlineValue ?? argv[++i];
      if (next === undefined || next === '') throw new Error(`${name} needs a value`);
      return next;
    };
    if (name === '--help' || name === '-h') options.help = true;
    else if (name === '--port' || name === '-p') options.port = parsePort(value(), name);
    else if (name === '--host') options.host = value();
    else if (name === '--write-env') options.writeEnv = value();
    else if (name === '--token-ttl-ms') options.tokenTtlMs = parseMs(value(), name);
    else if (name === '--announce-ttl') options.announceTtl = true;
    else if (name === '--revoke-every-ms') options.revokeEveryMs = parseMs(value(), name);
    else throw new Error(`unknown argument: ${arg}`);
  }
  return options;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

function parsePort(text: string, source: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535) {
    throw new Error(`${source} must be a port number from 0 to 65535, got ${JSON.stringify(text)}`);
  }
  return port;
}

function parseMs(text: string, source: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new Error(
      `${source} must be a whole number of milliseconds from 1, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/**
 * What `tokenfetch-mock` prints once it listens. With `envFile` (the variables were written
 * there, `--write-env`) it names the file and prints neither the password nor the API key.
 */
export function formatBanner(baseUrl: string, envFile?: string): string {
  const org = String(demoUser.orgs[0] ?? 1);
  const head = `tokenfetch mock upstream listening on ${baseUrl}
OpenAPI document: ${baseUrl}/openapi.json
`;
  if (envFile !== undefined) {
    return `${head}
Wrote ${envFile} (mode 0600): API_BASE_URL, API_EMAIL, API_PASSWORD and API_ORG_ID of the
demo user (${demoUser.email}, org ${org}), and the demo API key commented out.
Start your app with it:
  node --env-file=${envFile} app.js
  npx tsx --env-file=${envFile} app.ts

Press Ctrl+C to stop.
`;
  }
  return `${head}
Demo credentials (POST ${baseUrl}/user/authenticate):
  email:    ${demoUser.email}
  password: ${demoUser.password}
  org id:   ${org}
  API key:  ${demoApiKey}

Environment for a session-token client:
  API_BASE_URL=${baseUrl}
  API_EMAIL=${demoUser.email}
  API_PASSWORD=${demoUser.password}
  API_ORG_ID=${org}

or for an API-key client:
  API_BASE_URL=${baseUrl}
  API_KEY=${demoApiKey}

Nothing reads a .env file by itself: let the mock write one (tokenfetch-mock --write-env .env),
then start your app with node --env-file=.env app.js (or npx tsx --env-file=.env app.ts).

Press Ctrl+C to stop.
`;
}

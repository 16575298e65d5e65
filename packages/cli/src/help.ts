const environment = `Environment (flags win over an --env-file, which wins over the environment):
  API_BASE_URL            the API's base URL, e.g. https://acme.resolver.com/api
  API_EMAIL, API_ORG_ID   the user and the org to log in to (selectedOrg)
  API_PASSWORD            the password; never a flag. Unset on a terminal: asked for
  API_KEY                 an API key instead of a login (request only)
  API_IMPERSONATE_USER_ID with API_KEY: act as this user of the org
  API_TIMEOUT_MS, API_LOGIN_TIMEOUT_MS   per call (30000) and per login (10000)
  TOKENFETCH_CACHE        off: do not keep session tokens between commands
  XDG_CACHE_HOME          the token cache is $XDG_CACHE_HOME/tokenfetch (~/.cache/tokenfetch)`;

const cache = `  --no-cache         neither use nor keep a cached token (also TOKENFETCH_CACHE=off)`;

const exitCodeHelp = `Exit codes:
  0 ok   1 unexpected error   2 usage or configuration   3 invalid credentials (401)
  4 no active org (404)   5 login failed or URL refused   6 upstream answered non-2xx`;

const connection = `  --base-url URL     instead of API_BASE_URL
  --email EMAIL      instead of API_EMAIL
  --org ID           instead of API_ORG_ID
  --env-file PATH    read API_* variables from a dotenv file (KEY=VALUE lines)
  -h, --help         show this help`;

export const topHelp = `Usage: tokenfetch <command> [options]

Log in to an API that wants short-lived session tokens, from the command line.

Commands:
  token                 print a session token (logging in when none is cached)
  request METHOD PATH   call the API with the session token or API_KEY, print the body
  logout                delete the cached token of the current configuration
  help [COMMAND]        show help

Session tokens are kept between commands in a per-user cache (~/.cache/tokenfetch),
sealed with the password: a command with other credentials logs in. --no-cache or
TOKENFETCH_CACHE=off turns it off.

Options:
  --env-file PATH       read API_* variables from a dotenv file
  -h, --help            show help (also: tokenfetch <command> --help)
  -v, --version         print the version

${environment}

${exitCodeHelp}

Examples:
  tokenfetch token --header | curl -H @- https://acme.resolver.com/api/user/users/me
  tokenfetch request GET /user/users/me
`;

export const tokenHelp = `Usage: tokenfetch token [options]

Prints a session token alone: the cached one while it has more than 2 minutes (or a
third of its life) left, else one from a new login (POST {API_BASE_URL}/user/authenticate),
valid for 15 minutes. The password comes from API_PASSWORD or, on a terminal, from a
prompt that does not echo; a --password flag is refused, because command lines end up in
shell history and process lists.

Options:
  --json             print {"token": "…", "expiresAt": "<ISO date>"}
  --header           print "Authorization: Bearer <token>", for curl -H @- (stdin)
${cache}
${connection}

${environment}

${exitCodeHelp}

Examples:
  export TOKEN="$(tokenfetch token)"
  tokenfetch token --header | curl -H @- "$API_BASE_URL/user/users/me"
  tokenfetch token --json --env-file .env
`;

export const requestHelp = `Usage: tokenfetch request METHOD PATH [options]

Calls the API and prints the answer's body: pretty JSON on a terminal, raw otherwise.
PATH resolves under API_BASE_URL (/user/users/me → {API_BASE_URL}/user/users/me); an
absolute URL is accepted only inside the base URL. Authenticates with API_KEY when it is
set, otherwise with the cached session token or a login (re-logging in once if the
token is refused).

Options:
  -d, --data DATA    the request body: text, @file, or @- for stdin. Sent as
                     application/json when it parses as JSON, text/plain when it is
                     other UTF-8, else application/octet-stream (unless -H sets one)
  -H, --header 'NAME: VALUE'   add a header (repeatable), but not a credential header
                     tokenfetch sets (Authorization, x-api-key, impersonate-user-id)
  -i, --include      print the status line and the headers before the body
${cache}
${connection}

${environment}

${exitCodeHelp}

Examples:
  tokenfetch request GET /user/users/me
  tokenfetch request POST /data/object -d @object.json -H 'x-request-id: 42'
  tokenfetch request GET /status/404 -i
`;

export const logoutHelp = `Usage: tokenfetch logout [options]

Deletes the cached session token of the current configuration (API_BASE_URL, API_EMAIL,
API_ORG_ID), and any login refusal remembered with it. Asks for no password. The token
stays valid upstream until it expires: the API has no logout call.

Options:
${connection}

Examples:
  tokenfetch logout
  tokenfetch logout --env-file .env
`;

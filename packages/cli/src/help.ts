const environment = `Environment (flags win over an --env-file, which wins over the environment):
  API_BASE_URL            the API's base URL, e.g. https://acme.resolver.com/api
  API_EMAIL, API_ORG_ID   the user and the org to log in to (selectedOrg)
  API_PASSWORD            the password; never a flag. Unset on a terminal: asked for
  API_KEY                 an API key instead of a login (request only)
  API_IMPERSONATE_USER_ID with API_KEY: act as this user of the org
  API_TIMEOUT_MS, API_LOGIN_TIMEOUT_MS   per call (30000) and per login (10000)`;

const exitCodes = `Exit codes:
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
  token                 log in and print a session token
  request METHOD PATH   call the API with the session token or API_KEY, print the body
  help [COMMAND]        show help

Options:
  --env-file PATH       read API_* variables from a dotenv file
  -h, --help            show help (also: tokenfetch <command> --help)
  -v, --version         print the version

${environment}

${exitCodes}

Examples:
  curl -H "$(tokenfetch token --header)" https://acme.resolver.com/api/user/users/me
  tokenfetch request GET /user/users/me
`;

export const tokenHelp = `Usage: tokenfetch token [options]

Logs in (POST {API_BASE_URL}/user/authenticate) and prints the session token alone.
The token is valid for 15 minutes. The password comes from API_PASSWORD or, on a
terminal, from a prompt that does not echo; a --password flag is refused, because
command lines end up in shell history and process lists.

Options:
  --json             print {"token": "…", "expiresAt": "<ISO date>"}
  --header           print "Authorization: Bearer <token>", for curl -H
${connection}

${environment}

${exitCodes}

Examples:
  export TOKEN="$(tokenfetch token)"
  curl -H "$(tokenfetch token --header)" "$API_BASE_URL/user/users/me"
  tokenfetch token --json --env-file .env
`;

export const requestHelp = `Usage: tokenfetch request METHOD PATH [options]

Calls the API and prints the answer's body: pretty JSON on a terminal, raw otherwise.
PATH resolves under API_BASE_URL (/user/users/me → {API_BASE_URL}/user/users/me); an
absolute URL is accepted only inside the base URL. Authenticates with API_KEY when it is
set, otherwise with a session login (re-logging in once if the token is refused).

Options:
  -d, --data DATA    the request body: text, @file, or @- for stdin. Sent as
                     application/json when it parses as JSON, text/plain when it is
                     other UTF-8, else application/octet-stream (unless -H sets one)
  -H, --header 'NAME: VALUE'   add a header (repeatable), but not a credential header
                     tokenfetch sets (Authorization; x-api-key, impersonate-user-id)
  -i, --include      print the status line and the headers before the body
${connection}

${environment}

${exitCodes}

Examples:
  tokenfetch request GET /user/users/me
  tokenfetch request POST /data/object -d @object.json -H 'x-request-id: 42'
  tokenfetch request GET /status/404 -i
`;

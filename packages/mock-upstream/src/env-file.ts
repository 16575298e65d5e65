import { readFile, unlink, writeFile } from 'node:fs/promises';
import { demoApiKey, demoUser } from './demo.js';

/** The first line of every file `tokenfetch-mock --write-env` writes, and how it knows its own. */
export const envFileMarker = '# Written by tokenfetch-mock';

/** The dotenv text of `tokenfetch-mock --write-env PATH`: the demo user's `API_*` variables. */
export function envFileText(baseUrl: string, path: string): string {
  return `${envFileMarker} for the demo user of its mock upstream at ${baseUrl}.
# It rewrites this file each time it starts with --write-env ${path}.
# Load it with: node --env-file=${path} app.js (or npx tsx --env-file=${path} app.ts)
API_BASE_URL=${baseUrl}
API_EMAIL=${demoUser.email}
API_PASSWORD=${demoUser.password}
API_ORG_ID=${String(demoUser.orgs[0] ?? 1)}
# An API-key client instead: remove API_EMAIL, API_PASSWORD and API_ORG_ID, and uncomment:
# API_KEY=${demoApiKey}
`;
}

/**
 * Writes {@link envFileText} to `path`, readable by its owner only (mode 0600). A file there
 * that this function did not write (it does not start with {@link envFileMarker}) is left
 * alone: it may be an app's real `.env`, so that is an Error naming the path.
 */
export async function writeEnvFile(path: string, baseUrl: string): Promise<void> {
  let existing: string | undefined;
  try {
    existing = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot use ${path} as the env file: ${(error as Error).message}`);
    }
  }
  if (existing !== undefined) {
    if (!existing.startsWith(envFileMarker)) {
      throw new Error(
        `${path} exists and was not written by tokenfetch-mock: not overwriting it (remove it, or pass another --write-env)`,
      );
    }
    await unlink(path); // a new file gets mode 0600 even if the old one was chmod'ed
  }
  await writeFile(path, envFileText(baseUrl, path), { mode: 0o600, flag: 'wx' });
}

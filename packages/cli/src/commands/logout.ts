import { unlink } from 'node:fs/promises';
import { connectionOptions, parseCommandArgs } from '../args.js';
import { sessionIdentity } from '../config.js';
import { exitCodes } from '../exit-codes.js';
import { logoutHelp } from '../help.js';
import { write, type CommandContext } from '../io.js';
import { tokenCacheDirectory, tokenCacheEnabled, tokenCacheFile } from '../token-cache.js';
import { UsageError } from '../usage-error.js';

/**
 * `tokenfetch logout`: deletes the cached token (and any remembered login refusal) of the
 * current configuration: base URL, email and org. Needs no password. The upstream has no
 * documented logout call, so the token itself stays valid until it expires.
 */
export async function runLogout(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('logout', {
    args,
    options: connectionOptions,
    allowPositionals: true,
    strict: true,
  });
  const { io } = context;
  if (values.help === true) {
    await write(io.stdout, logoutHelp);
    return exitCodes.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError('logout takes no arguments', { command: 'logout' });
  }
  const env = await context.loadEnv(values['env-file']);
  // Checks the setting's value; the entry is deleted even when the cache is off.
  tokenCacheEnabled(env, false);
  const email = values.email ?? env.API_EMAIL;
  if ((env.API_KEY ?? '').trim() !== '' && (email ?? '').trim() === '') {
    await write(io.stdout, 'nothing to remove: an API key is never cached\n');
    return exitCodes.ok;
  }
  const identity = sessionIdentity({ env, flags: values });
  const file = tokenCacheFile(tokenCacheDirectory(env), identity);
  let removed = true;
  try {
    await unlink(file);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    removed = false;
  }
  const whose = `${identity.email} (org ${identity.orgId}) at ${identity.baseUrl}`;
  await write(
    io.stdout,
    `${removed ? 'removed the cached token of' : 'no cached token of'} ${whose}\n`,
  );
  return exitCodes.ok;
}

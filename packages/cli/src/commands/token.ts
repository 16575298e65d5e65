import { createApiClient } from '@tokenfetch/core';
import { connectionOptions, parseCommandArgs } from '../args.js';
import { buildClientOptions } from '../config.js';
import { tokenHelp } from '../help.js';
import { openTokenCache, refreshWindowMs, storeErrorWarning } from '../token-cache.js';
import { write, type CommandContext } from '../io.js';
import { exitCodes } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

/**
 * `tokenfetch token`: a session token, from the token cache or one login, printed alone (or
 * as JSON with its expiry, or as an `Authorization` header line).
 */
export async function runToken(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('token', {
    args,
    options: {
      ...connectionOptions,
      'no-cache': { type: 'boolean' },
      json: { type: 'boolean' },
      header: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    await write(context.io.stdout, tokenHelp);
    return exitCodes.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError('token takes no arguments', { command: 'token' });
  }
  if (values.json === true && values.header === true) {
    throw new UsageError('--json and --header cannot be used together', { command: 'token' });
  }

  const env = await context.loadEnv(values['env-file']);
  const { options, session } = await buildClientOptions({
    env,
    flags: values,
    auth: 'session',
    askPassword: context.askPassword,
    onSecret: context.onSecret,
  });
  const store = await openTokenCache({
    env,
    noCache: values['no-cache'],
    session,
    warn: context.warn,
    loginTimeoutMs: options.loginTimeoutMs,
    // The token is for other tools to use for a while: a cached one is printed only until
    // the client itself would start replacing it.
    minRemainingMs: refreshWindowMs,
  });
  // The login event carries the expiry the token manager computed (the smallest of 15
  // minutes, the answer's expiresIn/expiresAt and a JWT's exp), from a login or the cache.
  let expiresAt: number | undefined;
  const onStoreError = storeErrorWarning(context.warn);
  const client = createApiClient({
    ...options,
    ...(store === undefined ? {} : { store }),
    onEvent: (event) => {
      if (event.type === 'login') expiresAt = event.expiresAt;
      else onStoreError(event);
    },
  });
  let token: string;
  try {
    token = await client.getToken();
  } finally {
    await client.close();
  }
  context.onSecret(token);

  if (values.header === true) {
    await write(context.io.stdout, `Authorization: Bearer ${token}\n`);
  } else if (values.json === true) {
    if (expiresAt === undefined) throw new Error('the login reported no expiry');
    const json = JSON.stringify({ token, expiresAt: new Date(expiresAt).toISOString() });
    await write(context.io.stdout, `${json}\n`);
  } else {
    await write(context.io.stdout, `${token}\n`);
  }
  return exitCodes.ok;
}

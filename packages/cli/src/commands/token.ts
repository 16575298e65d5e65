import { createApiClient } from '@tokenfetch/core';
import { connectionOptions, parseCommandArgs } from '../args.js';
import { buildClientOptions } from '../config.js';
import { tokenHelp } from '../help.js';
import { write, type CommandContext } from '../io.js';
import { exitCodes } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

/**
 * `tokenfetch token`: one session login, the token printed alone (or as JSON with its
 * expiry, or as an `Authorization` header line).
 */
export async function runToken(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('token', {
    args,
    options: {
      ...connectionOptions,
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

  const options = await buildClientOptions({
    env: await context.loadEnv(values['env-file']),
    flags: values,
    auth: 'session',
    askPassword: context.askPassword,
    onSecret: context.onSecret,
  });
  // The login event carries the expiry the token manager computed (the smallest of 15
  // minutes, the answer's expiresIn/expiresAt and a JWT's exp).
  let expiresAt: number | undefined;
  const client = createApiClient({
    ...options,
    onEvent: (event) => {
      if (event.type === 'login') expiresAt = event.expiresAt;
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

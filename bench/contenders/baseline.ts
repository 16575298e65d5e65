import { pathToFileURL } from 'node:url';
import type { ApiClient, createApiClient as CreateApiClient } from '@tokenfetch/core';
import type { authMiddleware as AuthMiddleware } from '@tokenfetch/express';
import type { Contender } from './contender.js';

/**
 * Another build of tokenfetch to measure side by side with this one (a before/after): the
 * root of a checkout in which `pnpm build` has run, e.g. a `git worktree` of the commit
 * before a change. Unset, there is no baseline contender.
 *
 *   TOKENFETCH_BASELINE=/path/to/checkout pnpm bench -- --scenario=1
 */
export const baselineDir = process.env.TOKENFETCH_BASELINE || undefined;

/** The baseline's built core and Express adapter, loaded from its checkout. */
export async function loadBaseline(): Promise<{
  createApiClient: typeof CreateApiClient;
  authMiddleware: typeof AuthMiddleware;
}> {
  if (baselineDir === undefined) throw new Error('TOKENFETCH_BASELINE is not set');
  const load = (pkg: string) =>
    import(pathToFileURL(`${baselineDir}/packages/${pkg}/dist/index.js`).href) as Promise<never>;
  const [core, express] = await Promise.all([load('core'), load('express')]);
  return {
    createApiClient: (core as { createApiClient: typeof CreateApiClient }).createApiClient,
    authMiddleware: (express as { authMiddleware: typeof AuthMiddleware }).authMiddleware,
  };
}

/** tokenfetch as built in the `TOKENFETCH_BASELINE` checkout, with its defaults. */
export const tokenfetchBaseline: Contender = {
  name: 'tokenfetch-baseline',
  async create(baseUrl, credentials) {
    const { createApiClient } = await loadBaseline();
    const client: ApiClient = createApiClient({ baseUrl, auth: credentials });
    return {
      async fetch(path) {
        const response = await client.fetch(path);
        return { status: response.status, body: await response.text() };
      },
      close: () => client.close(),
    };
  },
};

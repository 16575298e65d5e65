import { createApiClient, type ApiClient, type ApiClientOptions } from '@tokenfetch/core';
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './api.js';

/** A typed client of the API, every call of which goes through one tokenfetch client. */
export interface TypedApi {
  /** openapi-fetch's client: paths, parameters and bodies typed from the OpenAPI document. */
  readonly api: Client<paths>;
  /** The tokenfetch client underneath: one token, logins, replays. */
  readonly client: ApiClient;
}

/**
 * openapi-fetch takes any function with fetch's signature; tokenfetch's `client.fetch` is
 * one, so each typed call is authenticated, re-authenticated and replayed by tokenfetch.
 */
export function createTypedApi(options: ApiClientOptions): TypedApi {
  const client = createApiClient(options);
  const api = createClient<paths>({ baseUrl: options.baseUrl, fetch: client.fetch });
  return { api, client };
}

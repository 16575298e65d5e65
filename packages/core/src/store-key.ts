import { createHash } from 'node:crypto';

/**
 * The key of one set of credentials in a token store: a hash of base URL, email and org,
 * so no raw email lands in a shared keyspace.
 */
export function storeKey(baseUrl: string, identity: string): string {
  return createHash('sha256').update(`${baseUrl}|${identity}`).digest('hex');
}

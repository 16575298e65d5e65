import { sha256Hex } from '#platform';

/**
 * The key of one set of credentials in a token store: a hash of base URL, email and org,
 * so no raw email lands in a shared keyspace.
 */
export function storeKey(baseUrl: string, identity: string): string {
  return sha256Hex(`${baseUrl}|${identity}`);
}

import type { TokenStore } from '@tokenfetch/core';

type Operation = keyof TokenStore;

const operations: readonly Operation[] = [
  'get',
  'acquire',
  'commit',
  'release',
  'invalidate',
  'getFailure',
];

/**
 * Wraps a store and counts each operation the client asks of it. A client waiting on a
 * lock polls `acquire` every ~100 ms, so the count says whether it waited, without a clock.
 * `key` is the store key the client last asked `get` for.
 */
export function countingStore(store: TokenStore): {
  store: TokenStore;
  calls: Record<Operation, number>;
  readonly key: string | undefined;
} {
  let key: string | undefined;
  const calls = Object.fromEntries(operations.map((name) => [name, 0])) as Record<
    Operation,
    number
  >;
  const counted = Object.fromEntries(
    operations.map((name) => [
      name,
      (...args: unknown[]) => {
        calls[name]++;
        if (name === 'get') key = String(args[0]);
        return (store[name] as (...params: unknown[]) => Promise<unknown>).apply(store, args);
      },
    ]),
  ) as unknown as TokenStore;
  return {
    store: counted,
    calls,
    get key() {
      return key;
    },
  };
}

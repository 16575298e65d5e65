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
 */
export function countingStore(store: TokenStore): {
  store: TokenStore;
  calls: Record<Operation, number>;
} {
  const calls = Object.fromEntries(operations.map((name) => [name, 0])) as Record<
    Operation,
    number
  >;
  const counted = Object.fromEntries(
    operations.map((name) => [
      name,
      (...args: unknown[]) => {
        calls[name]++;
        return (store[name] as (...params: unknown[]) => Promise<unknown>).apply(store, args);
      },
    ]),
  ) as unknown as TokenStore;
  return { store: counted, calls };
}

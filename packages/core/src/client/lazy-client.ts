import { groupedFetchOf, setGroupedFetch } from './grouped-fetch.js';
import type { ApiClient } from './types.js';

/**
 * An `ApiClient` whose calls go to the client `get()` returns at the time of each call,
 * at once when it is ready, after its promise otherwise. A throw or rejection of `get()`
 * rejects that call only. `as()` is lazy too: it is applied at each call. `track` sees
 * each call from its start to its end (the pool keeps a client with calls in flight).
 */
export function createLazyClient(
  get: () => ApiClient | Promise<ApiClient>,
  close: () => Promise<void>,
  describe: Record<string, unknown>,
  track: <T>(call: () => Promise<T>) => Promise<T> = (run) => run(),
): ApiClient {
  function call<T>(use: (client: ApiClient) => Promise<T>): Promise<T> {
    return track(() => {
      let target: ApiClient | Promise<ApiClient>;
      try {
        target = get();
      } catch (error) {
        return Promise.reject(error);
      }
      return target instanceof Promise ? target.then(use) : use(target);
    });
  }

  const client: ApiClient = {
    fetch: (input, init) => call((target) => target.fetch(input, init)),
    json: (input, init) => call((target) => target.json(input, init)),
    getToken: (options) => call((target) => target.getToken(options)),
    as: (options) =>
      createLazyClient(
        () => {
          const target = get();
          return target instanceof Promise
            ? target.then((ready) => ready.as(options))
            : target.as(options);
        },
        // Closing what `as()` made is its root's business.
        () => Promise.resolve(),
        { ...describe, as: Object.keys(options) },
        track,
      ),
    close,
  };
  setGroupedFetch(client, (input, init, group) =>
    call((target) => {
      const grouped = groupedFetchOf(target);
      return grouped === undefined ? target.fetch(input, init) : grouped(input, init, group);
    }),
  );
  Object.defineProperties(client, {
    toJSON: { value: () => describe },
    [Symbol.for('nodejs.util.inspect.custom')]: {
      value: () => `ApiClient ${JSON.stringify(describe)}`,
    },
  });
  return client;
}

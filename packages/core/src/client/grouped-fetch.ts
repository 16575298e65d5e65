import type { AbortGroup } from '../shared/abort.js';

/** A tokenfetch client's `fetch` whose call an adapter's `AbortGroup` can abort. */
export type GroupedFetch = (
  input: string | URL | Request,
  init: RequestInit | undefined,
  group: AbortGroup,
) => Promise<Response>;

/** Where a client made here keeps its grouped `fetch`; not part of the public API. */
const grouped = Symbol('tokenfetch.groupedFetch');

/** Gives a client (core's own, the pool's, `as()` at request time) a grouped `fetch`. */
export function setGroupedFetch(client: object, fetch: GroupedFetch): void {
  Object.defineProperty(client, grouped, { value: fetch });
}

/**
 * For the adapters: the grouped `fetch` of a client made by this copy of core. A client
 * from elsewhere (a wrapper, another installed copy) has none and gets an AbortSignal.
 */
export function groupedFetchOf(client: object): GroupedFetch | undefined {
  return (client as { [grouped]?: GroupedFetch })[grouped];
}

import { resolveUrl, type UrlScope } from '../guards/resolve-url.js';
import { toTarget, type Target } from '../transport/transport.js';

/** Where a call goes, from what a caller passed. */
export interface TargetCache {
  resolve(input: string | URL): Target;
}

const targetCacheSize = 1_000;

/**
 * Resolved targets of string paths, so that a path called again is not parsed and checked
 * again. Bounded: it starts over when full (paths with ids in them are many).
 */
export function createTargetCache(scope: UrlScope): TargetCache {
  const cache = new Map<string, Target>();
  return {
    resolve(input) {
      if (typeof input !== 'string') return toTarget(resolveUrl(scope, input));
      let target = cache.get(input);
      if (target === undefined) {
        target = toTarget(resolveUrl(scope, input));
        if (cache.size >= targetCacheSize) cache.clear();
        cache.set(input, target);
      }
      return target;
    },
  };
}

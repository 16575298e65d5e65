import { Session } from 'node:inspector/promises';

/** The parts of a V8 CPU profile (`Profiler.stop`) read here. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string };
    hitCount?: number;
    children?: number[];
  }>;
}

/**
 * IPC handlers for an app started by `startNode`: `profileStart` samples the app's CPU
 * every `intervalUs` µs (V8's sampling profiler, as `node --cpu-prof`), `profileStop`
 * answers the profile. Only the window between them is sampled: no start-up, no warm-up.
 */
export function profilingHandlers(): Record<string, (...args: never[]) => unknown> {
  let session: Session | undefined;
  return {
    async profileStart(intervalUs: number) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
      await session.post('Profiler.start');
    },
    async profileStop() {
      if (session === undefined) throw new Error('profileStop before profileStart');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      return profile;
    },
  };
}

/**
 * The share of an app's busy samples spent in code matched by `ours` (by script URL), and in
 * what that code calls of the runtime (builtins, `node:` internals), but not in the other
 * JavaScript it calls: a middleware's `next()` runs the rest of the request, which is the
 * framework's and the route's. Garbage collection is not attributed to anyone.
 */
export function ownShare(
  profile: CpuProfile,
  ours: (url: string) => boolean,
): { share: number; ours: number; busy: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const root = profile.nodes[0];
  let busy = 0;
  let own = 0;
  // Iterative: a deep stack would overflow a recursive walk.
  const stack: Array<[number, boolean]> = root === undefined ? [] : [[root.id, false]];
  while (stack.length > 0) {
    const [id, inherited] = stack.pop()!;
    const node = byId.get(id)!;
    const { url, functionName } = node.callFrame;
    const counted = ours(url) ? true : url !== '' && !url.startsWith('node:') ? false : inherited;
    const hits = node.hitCount ?? 0;
    if (functionName !== '(idle)') busy += hits;
    if (counted) own += hits;
    for (const child of node.children ?? []) stack.push([child, counted]);
  }
  return { share: busy === 0 ? 0 : own / busy, ours: own, busy };
}

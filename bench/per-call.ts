/**
 * The client side of one call, in one process: CPU µs per call of the floor (global
 * `fetch`, constant token), tokenfetch's `client.fetch` and the undici-limit contender,
 * each reading the body as text, 16 calls in flight, against the mock upstream in its own
 * process. No Express app around them: this is what each costs the caller's process, the
 * figure scenario 1 dilutes with the app's own work. Alternating rounds, median.
 *
 *   pnpm --filter ./bench run per-call            (after pnpm build)
 *   TOKENFETCH_BASELINE=/path/to/built/checkout pnpm --filter ./bench run per-call   (with a before/after)
 */
import { baselineDir, contenders, type ContenderName } from './contenders/index.js';
import { credentials } from './apps/credentials.js';
import { startRemoteMock } from './lib/remote-mock.js';
import { fixed, median } from './lib/stats.js';
import { cores, pin } from './lib/taskset.js';

const names: ContenderName[] = [
  'floor',
  'tokenfetch',
  // Another build of tokenfetch, for a before/after (TOKENFETCH_BASELINE, contenders/baseline.ts).
  ...(baselineDir === undefined ? [] : (['tokenfetch-baseline'] as const)),
  'undici-limit',
];
const perRound = 4_000;
const rounds = 7;

const mock = await startRemoteMock();
pin(process.pid, cores?.app);
try {
  const clients = new Map(
    await Promise.all(
      names.map(
        async (name) => [name, await contenders[name].create(mock.baseUrl, credentials)] as const,
      ),
    ),
  );
  const round = async (name: ContenderName, n: number): Promise<number> => {
    const client = clients.get(name)!;
    const start = process.cpuUsage();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < n) await client.fetch('/items/1');
      }),
    );
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  for (const name of names) await round(name, perRound); // warm-up
  const results = new Map<ContenderName, number[]>(names.map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      results.get(name)!.push(await round(name, perRound));
    }
  }
  const floor = median(results.get('floor')!);
  console.log('| contender | client CPU µs/call (median) | floor ÷ contender |');
  console.log('| --- | --- | --- |');
  for (const name of names) {
    const value = median(results.get(name)!);
    console.log(`| ${name} | ${fixed(value, 1)} | ${fixed(floor / value, 2)} |`);
  }
  for (const client of clients.values()) await client.close();
} finally {
  await mock.close();
}

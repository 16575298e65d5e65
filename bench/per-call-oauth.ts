/**
 * The client side of one OAuth call (issue 24), in one process: CPU µs per call of the
 * floor (global `fetch` with a constant JWT access token), tokenfetch with
 * `clientCredentials()` (a Bearer token) and with `clientCredentials({ dpop: true })` (a
 * DPoP proof signed per call), each reading the body as text, 16 calls in flight, against
 * the mock upstream as an OAuth resource server in its own process. The authorization
 * server (oidc-provider, test/oauth) runs here: one token request per contender, before
 * the rounds. Alternating rounds, median.
 *
 *   pnpm --filter ./bench run per-call-oauth            (after pnpm build)
 */
import { createApiClient } from '@tokenfetch/core';
import { clientCredentials } from '@tokenfetch/oauth2';
import { startAuthorizationServer } from '@tokenfetch/test-oauth';
import { startRemoteMock } from './lib/remote-mock.js';
import { fixed, median } from './lib/stats.js';
import { cores, pin } from './lib/taskset.js';

type Name = 'floor' | 'tokenfetch client credentials' | 'tokenfetch client credentials + DPoP';
const names: Name[] = [
  'floor',
  'tokenfetch client credentials',
  'tokenfetch client credentials + DPoP',
];
const perRound = Number(process.env.PER_ROUND ?? 2_000);
const rounds = Number(process.env.ROUNDS ?? 7);

const as = await startAuthorizationServer({ accessTokenTtl: 3_600 });
const mock = await startRemoteMock({
  oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource },
});
pin(process.pid, cores?.app);
try {
  const { clientId, clientSecret } = as.clients.secretBasic;
  const oauthClient = (dpop: boolean) =>
    createApiClient({
      baseUrl: mock.baseUrl,
      auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret, dpop }),
    });
  const bearer = oauthClient(false);
  const dpop = oauthClient(true);
  const headers = { authorization: `Bearer ${await oauthClient(false).getToken()}` };
  const floor = async (path: string) => {
    const response = await fetch(`${mock.baseUrl}${path}`, { headers });
    return { status: response.status, body: await response.text() };
  };
  const viaClient = (client: typeof bearer) => async (path: string) => {
    const response = await client.fetch(path);
    return { status: response.status, body: await response.text() };
  };
  const calls: Record<Name, (path: string) => Promise<{ status: number }>> = {
    floor,
    'tokenfetch client credentials': viaClient(bearer),
    'tokenfetch client credentials + DPoP': viaClient(dpop),
  };
  const round = async (name: Name, n: number): Promise<number> => {
    const call = calls[name];
    const start = process.cpuUsage();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < n) if ((await call('/items/1')).status !== 200) failed++;
      }),
    );
    const used = process.cpuUsage(start);
    if (failed > 0) throw new Error(`${name}: ${failed} calls failed`);
    return (used.user + used.system) / n;
  };
  for (const name of names) await round(name, perRound); // warm-up
  const results = new Map<Name, number[]>(names.map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      results.get(name)!.push(await round(name, perRound));
    }
  }
  const floorMedian = median(results.get('floor')!);
  console.log('| contender | client CPU µs/call (median) | contender ÷ floor |');
  console.log('| --- | --- | --- |');
  for (const name of names) {
    const value = median(results.get(name)!);
    console.log(`| ${name} | ${fixed(value, 1)} | ${fixed(value / floorMedian, 2)} |`);
  }
  await Promise.all([bearer.close(), dpop.close()]);
} finally {
  await mock.close();
  await as.close();
}

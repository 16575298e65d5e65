// Per-call parameters without the wrong-scope race (issue 24, Duende.AccessTokenManagement's
// bug): each parameter set of client.as({ scope, resource }) has its own token, single
// flight and store key, under any interleaving of calls and revocations.
import { createApiClient, MemoryTokenStore } from '@tokenfetch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientCredentials } from '../src/index.js';
import { startApi, startAs } from './helpers.js';

const sets = [{ scope: 'read' }, { scope: 'write' }, { scope: ['write', 'read'] }] as const;
const expected = [['read'], ['write'], ['read', 'write']];

describe('parameter sets', () => {
  it('never swap tokens: every call carries a token of its own set’s scope (property)', async () => {
    const as = await startAs();
    const api = await startApi(as);
    const { clientId, clientSecret } = as.clients.secretBasic;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ set: fc.integer({ min: 0, max: 2 }), revoke: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.scheduler(),
        async (calls, scheduler) => {
          api.resetStats();
          as.resetTokenRequests();
          // A cold client per run, sharing one store, so the sets race for their first tokens.
          const client = createApiClient({
            baseUrl: api.baseUrl,
            auth: clientCredentials({ tokenUrl: as.tokenEndpoint, clientId, clientSecret }),
            store: new MemoryTokenStore(),
          });
          try {
            const all = Promise.all(
              calls.map(({ set, revoke }, i) =>
                scheduler.schedule(Promise.resolve(), `call ${i}`).then(() => {
                  if (revoke) api.revokeTokens();
                  return client
                    .as(sets[set]!)
                    .fetch(`/calls/${i}`, { headers: { 'x-set': String(set) } });
                }),
              ),
            );
            // The scheduler starts the calls in a random order; the HTTP runs for real.
            await scheduler.waitAll();
            const answers = await all;
            for (const answer of answers) await answer.arrayBuffer();
            for (const request of api.requests) {
              const set = Number(request.headers['x-set']);
              if (request.actingAs?.oauth === undefined) continue; // a revoked token's 401
              expect([...request.actingAs.oauth.scope].sort()).toEqual(expected[set]);
            }
            // At most one token per set, plus one per revocation.
            const revocations = calls.filter((call) => call.revoke).length;
            const distinct = new Set(calls.map((call) => call.set)).size;
            expect(as.tokenRequests.length).toBeLessThanOrEqual(distinct * (1 + revocations));
          } finally {
            await client.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

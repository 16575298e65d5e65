import fc from 'fast-check';
import { startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientPool, MemoryTokenStore, type ApiClient } from '../src/index.js';

// Three tenants on three servers; tenant `a`'s user is also in org 43 (`as({ orgId: 43 })`).
const tenants = ['a', 'b', 'c'] as const;
type Tenant = (typeof tenants)[number];
const users = {
  a: { email: 'svc@a.test', password: 'pw-a', orgs: [42, 43], id: 1 },
  b: { email: 'svc@b.test', password: 'pw-b', orgs: [7], id: 2 },
  c: { email: 'svc@c.test', password: 'pw-c', orgs: [9], id: 3 },
};

/** Who a call is made as, and the org the server must see it act in. */
const identities = [
  { tenant: 'a', org: 42 },
  { tenant: 'a', org: 43, as: true },
  { tenant: 'b', org: 7 },
  { tenant: 'c', org: 9 },
] as const;

type Command =
  { kind: 'calls'; who: number[] } | { kind: 'revoke'; tenant: Tenant } | { kind: 'evict' };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.integer({ min: 0, max: identities.length - 1 }), { minLength: 1, maxLength: 12 })
      .map((who) => ({ kind: 'calls' as const, who })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...tenants).map((tenant) => ({ kind: 'revoke' as const, tenant })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'evict' as const }) },
);

describe('tenant isolation (property)', () => {
  const servers = {} as Record<Tenant, MockUpstream>;

  beforeAll(async () => {
    for (const tenant of tenants) {
      servers[tenant] = await startMockUpstream({ users: [users[tenant]] });
    }
  });
  afterAll(async () => {
    await Promise.all(tenants.map((tenant) => servers[tenant].close()));
  });

  it('under random interleavings of tenants, orgs, revocations and evictions, no call is sent with another tenant’s token', async () => {
    let probe = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        // maxClients 2 of 3 tenants: evictions happen between and during the calls.
        const pool = createClientPool({
          store: new MemoryTokenStore(),
          maxClients: 2,
          resolve: (tenant) => {
            const user = users[tenant as Tenant];
            return {
              baseUrl: servers[tenant as Tenant].baseUrl,
              auth: { email: user.email, password: user.password, orgId: user.orgs[0]! },
            };
          },
        });
        const expected = new Map<string, { tenant: Tenant; org: number }>();
        try {
          for (const step of commands) {
            if (step.kind === 'revoke') {
              servers[step.tenant].revokeTokens();
            } else if (step.kind === 'evict') {
              await pool
                .client(`unknown-${probe}`)
                .fetch('/x')
                .catch(() => {});
            } else {
              const responses = await Promise.all(
                step.who.map((index) => {
                  const identity = identities[index]!;
                  const base: ApiClient = pool.client(identity.tenant);
                  const client = 'as' in identity ? base.as({ orgId: identity.org }) : base;
                  const path = `/data/probe/${++probe}`;
                  expected.set(path, { tenant: identity.tenant, org: identity.org });
                  return client.fetch(path);
                }),
              );
              expect(responses.map((response) => response.status)).toEqual(step.who.map(() => 200));
            }
          }
        } finally {
          await pool.close();
        }
        for (const tenant of tenants) {
          expect(servers[tenant].stats.unknownCredentialCalls).toBe(0);
          for (const request of servers[tenant].requests) {
            const want = expected.get(request.path.replace(/^\/api/, ''));
            if (want === undefined || request.actingAs === undefined) continue;
            expect(want.tenant).toBe(tenant);
            expect(request.actingAs.orgId).toBe(want.org);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

import { createApiClient, type ApiClient } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, expect } from 'vitest';

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The mock upstream and a session client of it (both closed after the test). */
export async function startUpstream(): Promise<{ mock: MockUpstream; client: ApiClient }> {
  const mock = await startMockUpstream();
  closers.push(() => mock.close());
  const client = createApiClient({
    baseUrl: mock.baseUrl,
    auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
  });
  closers.push(() => client.close());
  return { mock, client };
}

/** Logs the client in, then has the upstream revoke its token: the next call gets a 403. */
export async function revokeAfterLogin(mock: MockUpstream, client: ApiClient): Promise<string> {
  const first = await client.getToken();
  mock.revokeTokens();
  mock.resetStats();
  return first;
}

/** The two sends of a call replayed after a re-login: the refused one, then the replay. */
export function expectReplayed(mock: MockUpstream, first: string, body: string): void {
  const sends = mock.requests;
  expect(sends).toHaveLength(2);
  expect(sends.map((send) => send.body)).toEqual([body, body]);
  expect(sends[0]?.headers.authorization).toBe(`Bearer ${first}`);
  expect(sends[1]?.headers.authorization).not.toBe(`Bearer ${first}`);
  expect(mock.stats.successfulLogins).toBe(1);
}

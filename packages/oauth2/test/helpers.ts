import {
  startMockUpstream,
  type MockOAuthOptions,
  type MockUpstream,
} from '@tokenfetch/mock-upstream';
import {
  startAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
} from '@tokenfetch/test-oauth';
import { afterEach } from 'vitest';

// Real servers on port 0: the authorization server (oidc-provider, test/oauth) and the mock
// upstream as its resource server; closed after each test, clients first.

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Closes `thing` after the test (last registered, first closed). */
export function track<T extends { close(): Promise<unknown> | unknown }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

export async function startAs(options?: AuthorizationServerOptions): Promise<AuthorizationServer> {
  return track(await startAuthorizationServer(options));
}

/** The mock upstream checking `as`'s tokens for its default resource. */
export async function startApi(
  as: AuthorizationServer,
  oauth: Partial<MockOAuthOptions> = {},
): Promise<MockUpstream> {
  return track(
    await startMockUpstream({
      oauth: { issuer: as.issuer, jwksUri: as.jwksUri, audience: as.resource, ...oauth },
    }),
  );
}

/** The token requests that got a token. */
export function issued(as: AuthorizationServer): number {
  return as.tokenRequests.filter((request) => request.issued).length;
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

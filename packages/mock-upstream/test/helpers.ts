import { afterEach, expect } from 'vitest';
import { demoUser, startMockUpstream } from '../src/index.js';
import type { MockUpstream, MockUpstreamOptions } from '../src/index.js';

export const credentials = { email: demoUser.email, password: demoUser.password, selectedOrg: 1 };

const started: MockUpstream[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((mock) => mock.close()));
});

/** Starts a mock upstream that is closed after the test. */
export async function start(options?: MockUpstreamOptions): Promise<MockUpstream> {
  const mock = await startMockUpstream(options);
  started.push(mock);
  return mock;
}

/** `POST {baseUrl}/user/authenticate` with a JSON body (a string is sent as is). */
export function login(mock: MockUpstream, body: unknown = credentials): Promise<Response> {
  return fetch(`${mock.baseUrl}/user/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A token from a login that must succeed. */
export async function token(mock: MockUpstream, body: unknown = credentials): Promise<string> {
  const res = await login(mock, body);
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

export const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

export async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

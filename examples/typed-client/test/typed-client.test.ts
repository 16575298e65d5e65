import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { demoUser, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { components } from '../src/api.js';
import { generateTypes, typesFile } from '../src/generate-types.js';
import { createTypedApi, type TypedApi } from '../src/typed-api.js';

type Widget = components['schemas']['Widget'];

let mock: MockUpstream;
let typed: TypedApi;

beforeEach(async () => {
  mock = await startMockUpstream();
  typed = createTypedApi({
    baseUrl: mock.baseUrl,
    auth: { email: demoUser.email, password: demoUser.password, orgId: 1 },
  });
});

afterEach(async () => {
  await typed.client.close();
  await mock.close();
});

describe('examples/typed-client', () => {
  it('commits the types openapi-typescript makes of the mock’s document today', async () => {
    expect(await readFile(typesFile, 'utf8')).toBe(await generateTypes());
  });

  it('creates and reads a widget with typed bodies through openapi-fetch, logged in once', async () => {
    const { api } = typed;
    const created = await api.POST('/widgets', { body: { name: 'bolt', color: 'red' } });
    expectTypeOf(created.data).toEqualTypeOf<Widget | undefined>();
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ name: 'bolt', color: 'red', quantity: 1, orgId: 1 });

    const id = created.data?.id ?? 0;
    const read = await api.GET('/widgets/{id}', { params: { path: { id } } });
    expect(read.data).toEqual(created.data);
    const missing = await api.GET('/widgets/{id}', { params: { path: { id: id + 1 } } });
    expectTypeOf(missing.error).toEqualTypeOf<components['schemas']['Error'] | undefined>();
    expect(missing.response.status).toBe(404);
    expect(missing.error).toEqual({ error: expect.any(String) });
    expect(mock.stats).toMatchObject({ successfulLogins: 1, rejectedCalls: 0 });
  });

  it('sends a body the types refuse as it is, and the mock refuses it too', async () => {
    // @ts-expect-error `name` is required by NewWidget
    const refused = await typed.api.POST('/widgets', { body: { color: 'red' } });
    expect(refused.response.status).toBe(400);
  });

  it('survives a token revocation: the POST is replayed once, its body intact', async () => {
    const { api } = typed;
    expect((await api.GET('/user/users/me')).data?.email).toBe(demoUser.email);
    mock.revokeTokens();
    mock.resetStats();

    const body = { name: 'replayed ✓ widget', color: 'green', quantity: 3 } as const;
    const created = await api.POST('/widgets', { body });

    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject(body);
    const posts = mock.requests.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.body)).toEqual([
      JSON.stringify(body),
      JSON.stringify(body),
    ]);
    expect(posts.map((request) => request.headers['content-type'])).toEqual([
      'application/json',
      'application/json',
    ]);
    expect(posts[0]?.actingAs).toBeUndefined(); // refused: the revoked token
    expect(posts[1]?.actingAs).toEqual({ credential: 'token', userId: 1, orgId: 1 });
    expect(posts[0]?.headers.authorization).not.toBe(posts[1]?.headers.authorization);
    expect(mock.stats).toMatchObject({ successfulLogins: 1, rejectedCalls: 1 });
    expect((await api.GET('/widgets')).data?.widgets).toHaveLength(1);
  });

  it('runs as `pnpm start` with no API_* set: the mock in-process, typed calls, a clean exit', async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('API_')),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../src/main.ts', import.meta.url))],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), env, timeout: 15_000 },
    );
    expect(stdout).toBe('acting as demo@example.com in org 1\ncreated widget 1: 1 × bolt\n');
  });
});

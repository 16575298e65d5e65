import { describe, expect, expectTypeOf, it } from 'vitest';
import { inspect } from 'node:util';
import { z } from 'zod';
import { DEMO_API_KEY, DEMO_USER } from '@tokenfetch/mock-upstream';
import { InvalidResponseError, UpstreamError } from '../src/index.js';
import {
  clientFor,
  rejectionOf,
  startMock,
  startRecorder,
  type RecordedRequest,
} from './helpers.js';

const PASSWORD = 'pw-Secret-0123456789';
const API_KEY = 'key-Secret-0123456789';
const TOKEN = 'tok-Secret-0123456789';

/** A plain upstream under /api that logs in with TOKEN and answers calls with `answer`. */
async function plainUpstream(
  answer: (request: RecordedRequest) => { status: number; body: string; type?: string },
) {
  const upstream = await startRecorder((request) => {
    if (request.url === '/api/user/authenticate') {
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: TOKEN }),
      };
    }
    const { status, body, type = 'application/json' } = answer(request);
    return { status, headers: { 'content-type': type }, body };
  });
  return { upstream, baseUrl: `${upstream.origin}/api` };
}

describe('client.json()', () => {
  it('parses a JSON answer and asks for JSON', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const me = await client.json('/user/users/me');

    expect(me).toEqual({
      id: 1,
      email: DEMO_USER.email,
      firstName: 'Demo',
      lastName: 'User',
      currentOrg: { id: 1 },
    });
    expect(mock.requests[0]?.headers.accept).toBe('application/json');
  });

  it('keeps a caller-set accept header and passes the init through', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const echo = await client.json<{ method: string; body: unknown }>('/things', {
      method: 'POST',
      headers: { accept: 'application/vnd.x+json', 'content-type': 'application/json' },
      body: '{"a":1}',
    });

    expect(echo).toMatchObject({ method: 'POST', body: { a: 1 } });
    expect(mock.requests[0]?.headers.accept).toBe('application/vnd.x+json');
  });

  it('a non-2xx answer is an UpstreamError with the status and a short body excerpt', async () => {
    const mock = await startMock();
    const client = clientFor(mock);

    const error = await rejectionOf(client.json('/status/502'));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({
      code: 'E_UPSTREAM_STATUS',
      status: 502,
      body: '{"status":502,"message":"Bad Gateway"}',
    });
    expect((error as Error).message).toBe('upstream answered 502 for /api/status/502');
  });

  it('the UpstreamError body is cut to a short excerpt', async () => {
    const { baseUrl } = await plainUpstream(() => ({ status: 500, body: 'e'.repeat(10_000) }));
    const client = clientFor({ baseUrl }, { auth: { apiKey: API_KEY } });

    const error = (await rejectionOf(client.json('/big'))) as UpstreamError;

    expect(error.status).toBe(500);
    expect(error.body).toBe('e'.repeat(300));
  });

  it('the UpstreamError body never holds the password, the API key or a bearer token (guarantee 9)', async () => {
    const { baseUrl } = await plainUpstream(() => ({
      status: 400,
      body: `bad login ${PASSWORD}; header was Authorization: Bearer ${TOKEN} and key ${API_KEY}`,
    }));
    const session = clientFor(
      { baseUrl },
      { auth: { email: 'a@b.c', password: PASSWORD, orgId: 1 } },
    );
    const keyed = clientFor({ baseUrl }, { auth: { apiKey: API_KEY } });

    for (const [client, secrets] of [
      [session, [PASSWORD, TOKEN]],
      [keyed, [API_KEY]],
    ] as const) {
      const error = (await rejectionOf(client.json('/x'))) as UpstreamError;
      const shown = `${error.body}\n${inspect(error)}\n${JSON.stringify(error)}`;
      expect(error.body).toContain('[redacted]');
      for (const secret of secrets) expect(shown).not.toContain(secret);
    }
  });

  it('a password with a lone surrogate is redacted as the upstream echoes it: U+FFFD in its place', async () => {
    // JSON carries the lone surrogate; an upstream that writes it back out as UTF-8 can
    // only send U+FFFD for it, which is what the error body then holds.
    const password = `pässwörd-\uD800-${PASSWORD}`;
    const echoed = Buffer.from(password).toString('utf8');
    const { baseUrl } = await plainUpstream(() => ({
      status: 400,
      body: `raw ${echoed} | uri ${encodeURIComponent(echoed)} | b64 ${Buffer.from(echoed).toString('base64')}`,
    }));
    const client = clientFor({ baseUrl }, { auth: { email: 'a@b.c', password, orgId: 1 } });

    const error = (await rejectionOf(client.json('/x'))) as UpstreamError;

    expect(error.body).toBe('raw [redacted] | uri [redacted] | b64 [redacted]');
  });

  it('a secret cut by the excerpt boundary does not leak its beginning', async () => {
    const { baseUrl } = await plainUpstream(() => ({
      status: 400,
      body: `${'.'.repeat(295)}${PASSWORD}${'.'.repeat(100)}`,
    }));
    const client = clientFor(
      { baseUrl },
      { auth: { email: 'a@b.c', password: PASSWORD, orgId: 1 } },
    );

    const error = (await rejectionOf(client.json('/x'))) as UpstreamError;

    expect(error.body.length).toBeLessThanOrEqual(300);
    expect(error.body).not.toContain(PASSWORD.slice(0, 5));
  });

  it('the token the call was sent with is redacted even without a Bearer prefix', async () => {
    const { baseUrl } = await plainUpstream(() => ({
      status: 409,
      body: JSON.stringify({ error: 'conflict', session: TOKEN }),
    }));
    const client = clientFor(
      { baseUrl },
      { auth: { email: 'a@b.c', password: PASSWORD, orgId: 1 } },
    );

    const error = (await rejectionOf(client.json('/x'))) as UpstreamError;

    expect(error.status).toBe(409);
    expect(error.body).toContain('conflict');
    expect(error.body).not.toContain(TOKEN);
  });

  it('a 2xx answer that is not JSON is an InvalidResponseError that does not quote the body', async () => {
    const { baseUrl } = await plainUpstream(() => ({
      status: 200,
      body: `<html>${API_KEY}</html>`,
      type: 'text/html',
    }));
    const client = clientFor({ baseUrl }, { auth: { apiKey: API_KEY } });

    const error = await rejectionOf(client.json('/page'));

    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ code: 'E_INVALID_RESPONSE', status: 200 });
    expect((error as Error).message).toMatch(/not JSON/);
    expect((error as Error).message).not.toContain(API_KEY);
  });

  it('an empty 2xx answer is undefined', async () => {
    const mock = await startMock();
    const client = clientFor(mock, { auth: { apiKey: DEMO_API_KEY } });

    expect(await client.json('/status/204')).toBeUndefined();
  });

  it('with a zod schema the data is validated and typed by it', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    const User = z.object({
      id: z.number(),
      email: z.string(),
      currentOrg: z.object({ id: z.number() }),
    });

    const me = await client.json('/user/users/me', { schema: User });

    expectTypeOf(me).toEqualTypeOf<{ id: number; email: string; currentOrg: { id: number } }>();
    expect(me).toEqual({ id: 1, email: DEMO_USER.email, currentOrg: { id: 1 } });
  });

  it('data that fails the schema is an InvalidResponseError whose cause is the ZodError', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    const Wrong = z.object({ id: z.string() });

    const error = await rejectionOf(client.json('/user/users/me', { schema: Wrong }));

    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as InvalidResponseError).status).toBe(200);
    expect((error as Error).message).toBe(
      'upstream answer did not match the schema (/api/user/users/me)',
    );
    expect((error as Error).cause).toBeInstanceOf(z.ZodError);
  });

  it('json() re-authenticates like fetch()', async () => {
    const mock = await startMock();
    const client = clientFor(mock);
    await client.getToken();
    mock.revokeTokens();

    const me = await client.json<{ id: number }>('/user/users/me');

    expect(me.id).toBe(1);
    expect(mock.stats.loginAttempts).toBe(2);
  });
});

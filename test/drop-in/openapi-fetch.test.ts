import { DEMO_USER } from '@tokenfetch/mock-upstream';
import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import { expectReplayed, revokeAfterLogin, startUpstream } from './setup.js';

/** A few of the mock's routes, written by hand (the typed example generates them). */
interface paths {
  '/user/users/me': {
    get: {
      responses: { 200: { content: { 'application/json': { email: string } } } };
    };
  };
  '/orders': {
    post: {
      requestBody: { content: { 'application/json': { item: string; note?: string } } };
      responses: {
        200: { content: { 'application/json': { method: string; body: unknown } } };
      };
    };
  };
}

describe('openapi-fetch with createClient({ fetch: client.fetch })', () => {
  it('GETs JSON under the base path, logged in', async () => {
    const { mock, client } = await startUpstream();
    const api = createClient<paths>({ baseUrl: mock.baseUrl, fetch: client.fetch });

    const { data, error, response } = await api.GET('/user/users/me');

    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data?.email).toBe(DEMO_USER.email);
  });

  it('POSTs JSON', async () => {
    const { mock, client } = await startUpstream();
    const api = createClient<paths>({ baseUrl: mock.baseUrl, fetch: client.fetch });

    const { data } = await api.POST('/orders', { body: { item: 'widget' } });

    expect(data).toMatchObject({ method: 'POST', body: { item: 'widget' } });
    expect(mock.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('survives a token revocation: one re-login, the POST body replayed intact', async () => {
    const { mock, client } = await startUpstream();
    const api = createClient<paths>({ baseUrl: mock.baseUrl, fetch: client.fetch });
    const first = await revokeAfterLogin(mock, client);

    const { data, response } = await api.POST('/orders', {
      body: { item: 'widget', note: 'ünïcödé' },
    });

    expect(response.status).toBe(200);
    expect(data?.body).toEqual({ item: 'widget', note: 'ünïcödé' });
    expectReplayed(mock, first, JSON.stringify({ item: 'widget', note: 'ünïcödé' }));
  });
});

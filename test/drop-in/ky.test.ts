import { DEMO_USER } from '@tokenfetch/mock-upstream';
import ky, { HTTPError } from 'ky';
import { describe, expect, it } from 'vitest';
import { expectReplayed, revokeAfterLogin, startUpstream } from './setup.js';

interface Echo {
  method: string;
  path: string;
  body: unknown;
}

describe('ky with fetch: client.fetch', () => {
  it('GETs JSON under the base path, logged in', async () => {
    const { mock, client } = await startUpstream();
    const api = ky.create({ prefixUrl: mock.baseUrl, fetch: client.fetch });

    const me = await api.get('user/users/me').json<{ email: string }>();

    expect(me.email).toBe(DEMO_USER.email);
    expect(mock.stats.successfulLogins).toBe(1);
  });

  it('POSTs JSON', async () => {
    const { mock, client } = await startUpstream();
    const api = ky.create({ prefixUrl: mock.baseUrl, fetch: client.fetch });

    const echo = await api.post('orders', { json: { item: 'widget', quantity: 3 } }).json<Echo>();

    expect(echo).toMatchObject({ method: 'POST', path: '/api/orders' });
    expect(echo.body).toEqual({ item: 'widget', quantity: 3 });
    expect(mock.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('survives a token revocation: one re-login, the POST body replayed intact', async () => {
    const { mock, client } = await startUpstream();
    const api = ky.create({ prefixUrl: mock.baseUrl, fetch: client.fetch });
    const first = await revokeAfterLogin(mock, client);

    const echo = await api
      .post('orders', { json: { item: 'widget', note: 'ünïcödé' } })
      .json<Echo>();

    expect(echo.body).toEqual({ item: 'widget', note: 'ünïcödé' });
    expectReplayed(mock, first, JSON.stringify({ item: 'widget', note: 'ünïcödé' }));
  });

  it("ky's searchParams and headers reach the upstream; its HTTPError still works", async () => {
    const { mock, client } = await startUpstream();
    const api = ky.create({ prefixUrl: mock.baseUrl, fetch: client.fetch, retry: 0 });

    await api.get('items', { searchParams: { page: 2 }, headers: { 'x-trace': 't-1' } }).json();
    const error = await api
      .get('status/404')
      .json()
      .catch((caught: unknown) => caught);

    expect(mock.requests[0]).toMatchObject({ path: '/api/items?page=2' });
    expect(mock.requests[0]?.headers['x-trace']).toBe('t-1');
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).response.status).toBe(404);
  });
});

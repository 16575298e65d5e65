import { describe, expect, it } from 'vitest';
import { expectReplayed, revokeAfterLogin, startUpstream } from './setup.js';

describe('a Request built by hand, passed to client.fetch', () => {
  it('survives a token revocation: one re-login, its body replayed intact', async () => {
    const { mock, client } = await startUpstream();
    const first = await revokeAfterLogin(mock, client);
    const body = JSON.stringify({ item: 'widget', note: 'ünïcödé' });

    const response = await client.fetch(
      new Request(`${mock.baseUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-trace': 't-2' },
        body,
      }),
    );

    expect(response.status).toBe(200);
    expect(((await response.json()) as { body: unknown }).body).toEqual(JSON.parse(body));
    expectReplayed(mock, first, body);
    expect(mock.requests[1]?.headers['x-trace']).toBe('t-2');
  });
});

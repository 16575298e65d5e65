import { describe, expect, it } from 'vitest';
import type { MockUpstream } from '../src/index.js';
import { WidgetStore } from '../src/widget-store.js';
import { bearer, start, token } from './helpers.js';

const member = { email: 'multi@example.com', password: 'pw', orgs: [42, 43], id: 7 };
const as = (selectedOrg: number) => ({
  email: member.email,
  password: member.password,
  selectedOrg,
});

function post(mock: MockUpstream, value: string, body: unknown): Promise<Response> {
  return fetch(`${mock.baseUrl}/widgets`, {
    method: 'POST',
    headers: { ...bearer(value), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('widgets', () => {
  it('POST creates a widget (201, Location), GET reads it back and lists it', async () => {
    const mock = await start({ users: [member], now: () => Date.UTC(2030, 0, 2) });
    const value = await token(mock, as(42));

    const created = await post(mock, value, { name: 'bolt', color: 'red', quantity: 12 });
    expect(created.status).toBe(201);
    const widget = (await created.json()) as { id: number };
    expect(widget).toEqual({
      id: 1,
      orgId: 42,
      name: 'bolt',
      color: 'red',
      quantity: 12,
      createdBy: 7,
      createdAt: '2030-01-02T00:00:00.000Z',
    });
    expect(created.headers.get('location')).toBe('/api/widgets/1');
    const read = await fetch(`${mock.baseUrl}/widgets/1`, { headers: bearer(value) });
    expect(await read.json()).toEqual(widget);
    const list = await fetch(`${mock.baseUrl}/widgets`, { headers: bearer(value) });
    expect(await list.json()).toEqual({ widgets: [widget] });
  });

  it('fills in color null and quantity 1', async () => {
    const mock = await start({ users: [member] });
    const res = await post(mock, await token(mock, as(42)), { name: 'nut' });
    expect(await res.json()).toMatchObject({ name: 'nut', color: null, quantity: 1 });
  });

  it('keeps each org’s widgets to itself', async () => {
    const mock = await start({ users: [member] });
    const in42 = await token(mock, as(42));
    const in43 = await token(mock, as(43));
    await post(mock, in42, { name: 'only-42' });

    expect((await fetch(`${mock.baseUrl}/widgets/1`, { headers: bearer(in43) })).status).toBe(404);
    const list = await fetch(`${mock.baseUrl}/widgets`, { headers: bearer(in43) });
    expect(await list.json()).toEqual({ widgets: [] });
  });

  it.each([
    ['not JSON', 'name=bolt'],
    ['an array', '[]'],
    ['no name', { color: 'red' }],
    ['an empty name', { name: '' }],
    ['a name of 101 characters', { name: 'x'.repeat(101) }],
    ['an unknown color', { name: 'a', color: 'purple' }],
    ['a negative quantity', { name: 'a', quantity: -1 }],
    ['a fractional quantity', { name: 'a', quantity: 1.5 }],
    ['a quantity over 1,000,000', { name: 'a', quantity: 1_000_001 }],
    ['an unknown field', { name: 'a', owner: 'me' }],
  ])('answers 400 to a body with %s, and creates nothing', async (_name, body) => {
    const mock = await start({ users: [member] });
    const value = await token(mock, as(42));
    const res = await post(mock, value, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    const list = await fetch(`${mock.baseUrl}/widgets`, { headers: bearer(value) });
    expect(await list.json()).toEqual({ widgets: [] });
  });

  it('answers 404 to an id that is not a number, and 403 without credentials', async () => {
    const mock = await start();
    const value = await token(mock);
    expect((await fetch(`${mock.baseUrl}/widgets/abc`, { headers: bearer(value) })).status).toBe(
      404,
    );
    expect((await fetch(`${mock.baseUrl}/widgets`)).status).toBe(403);
  });

  it('hands a method the route does not serve to the echo, like any other unrouted call', async () => {
    const mock = await start();
    const res = await fetch(`${mock.baseUrl}/widgets/1`, {
      method: 'DELETE',
      headers: bearer(await token(mock)),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ method: 'DELETE', path: '/api/widgets/1' });
  });

  it('forgets the oldest widget past 10,000, so a long-running mock stays small', () => {
    const store = new WidgetStore(() => 0);
    for (let i = 0; i < 10_001; i++) store.create({ name: `w${i}` }, 1, 1);
    expect(store.find(1, 1)).toBeUndefined();
    expect(store.find(2, 1)).toMatchObject({ name: 'w1' });
    expect(store.list(1)).toHaveLength(10_000);
  });
});

import { describe, expect, it } from 'vitest';
import { createApiFetchBinder } from '../src/adapter.js';
import { createApiClient, type ApiClient, type ApiFetch } from '../src/index.js';
import { rejectionOf, startRecorder, track } from './helpers.js';

/** A client made by another copy of core: only `fetch` and friends, no grouped path. */
function foreign(client: ApiClient): ApiClient {
  return {
    fetch: (input, init) => client.fetch(input, init),
    json: (input, init) => client.json(input, init),
    as: (who) => client.as(who),
    getToken: (options) => client.getToken(options),
    close: () => client.close(),
  };
}

// A WHATWG server (Bun, Deno, Workers, Hono) tells a disconnect by aborting the request's
// signal; the adapters hand that signal to the binder in place of Node's response.
describe.each([
  ['a client of this core', (client: ApiClient) => client],
  ['a client of another copy of core', foreign],
])('a request signal as the disconnect source, with %s', (_name, wrap) => {
  async function setup(): Promise<{
    calls: () => number;
    bind: (signal: AbortSignal) => ApiFetch;
    api: string;
  }> {
    const upstream = await startRecorder((request) =>
      request.url.endsWith('/authenticate') ? { body: 'a-token' } : 'hang',
    );
    const client = track(
      createApiClient({ baseUrl: `${upstream.origin}/api`, auth: { apiKey: 'k' } }),
    );
    return {
      calls: () => upstream.requests.length,
      bind: createApiFetchBinder(wrap(client)),
      api: `${upstream.origin}/api`,
    };
  }

  it('aborts the calls in flight when the signal aborts, with an AbortError of its own', async () => {
    const { calls, bind } = await setup();
    const request = new AbortController();
    const apiFetch = bind(request.signal);
    const call = apiFetch('/slow');
    await expect.poll(calls).toBe(1);
    request.abort('Client connection prematurely closed.');
    expect(await rejectionOf(call)).toMatchObject({
      name: 'AbortError',
      message: 'the downstream client disconnected',
    });
  });

  it('never sends a first call made after the signal has aborted', async () => {
    const { calls, bind } = await setup();
    const request = new AbortController();
    const apiFetch = bind(request.signal);
    request.abort();
    expect(await rejectionOf(apiFetch('/late'))).toMatchObject({ name: 'AbortError' });
    expect(calls()).toBe(0);
  });

  it('keeps a Request input’s own signal, as fetch(request) does, unless init gives one', async () => {
    const { calls, bind, api } = await setup();
    const apiFetch = bind(new AbortController().signal);
    const own = new AbortController();
    const overriding = new AbortController();
    const call = apiFetch(new Request(`${api}/slow`, { signal: own.signal }));
    const other = apiFetch(new Request(`${api}/slow`, { signal: own.signal }), {
      signal: overriding.signal,
    });
    await expect.poll(calls).toBe(2);
    overriding.abort(new Error('the init’s signal'));
    expect(await rejectionOf(other)).toMatchObject({ message: 'the init’s signal' });
    own.abort(new Error('the request’s own signal'));
    expect(await rejectionOf(call)).toMatchObject({ message: 'the request’s own signal' });
  });

  it('adds one listener to the signal at the first call, none before', async () => {
    const { bind } = await setup();
    const request = new AbortController();
    let listeners = 0;
    const add = request.signal.addEventListener.bind(request.signal);
    request.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    const apiFetch = bind(request.signal);
    expect(listeners).toBe(0);
    const first = apiFetch('/one');
    const second = apiFetch('/two');
    expect(listeners).toBe(1);
    request.abort();
    await Promise.allSettled([first, second]);
  });
});

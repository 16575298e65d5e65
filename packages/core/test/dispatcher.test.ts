import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { ConfigError, createApiClient } from '../src/index.js';
import { clientFor, demoAuth, rejectionOf, startMock, track } from './helpers.js';

describe('the dispatcher option', () => {
  it("a user's own Agent carries the login and the calls, and close() leaves it open", async () => {
    const mock = await startMock();
    const agent = track(new Agent({ connections: 2 }));
    const connected: string[] = [];
    agent.on('connect', (origin) => connected.push(new URL(String(origin)).origin));
    const client = createApiClient({ baseUrl: mock.baseUrl, auth: demoAuth, dispatcher: agent });

    expect((await client.fetch('/data')).status).toBe(200);
    await client.close();

    expect(mock.stats).toMatchObject({ successfulLogins: 1, calls: 1 });
    expect(connected.length).toBeGreaterThanOrEqual(1);
    expect(new Set(connected)).toEqual(new Set([mock.origin]));
    expect(agent.closed).toBe(false);
    expect(agent.destroyed).toBe(false);
    // Still usable by its owner, and by another client.
    const again = clientFor(mock, { dispatcher: agent });
    expect((await again.fetch('/data')).status).toBe(200);
  });

  it('dispatcher together with fetch is a ConfigError', () => {
    const agent = track(new Agent());

    const error = (() => {
      try {
        createApiClient({
          baseUrl: 'https://acme.resolver.com/api',
          auth: demoAuth,
          dispatcher: agent,
          fetch: globalThis.fetch,
        });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'dispatcher', message: 'cannot be used together with fetch' },
    ]);
  });

  it('a dispatcher that is not an undici Dispatcher is a ConfigError', async () => {
    const error = await rejectionOf(
      (async () =>
        createApiClient({
          baseUrl: 'https://acme.resolver.com/api',
          auth: demoAuth,
          dispatcher: { request: () => undefined } as never,
        }))(),
    );

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'dispatcher',
        message: 'must be an undici Dispatcher (Agent, ProxyAgent, EnvHttpProxyAgent, …)',
      },
    ]);
  });
});

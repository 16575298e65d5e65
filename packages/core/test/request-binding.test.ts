import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRequestBinding } from '../src/adapter.js';
import { createApiClient, createClientPool } from '../src/index.js';

const options = { baseUrl: 'https://api.example.com', auth: { apiKey: 'k' } };

// What an adapter that closes what it made (Fastify, NestJS) learns from the binding.
describe('createRequestBinding', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('owns a client it made from options or from the environment', async () => {
    const made = createRequestBinding(options);
    expect(made.owned).toBe(true);
    expect(typeof made.client?.fetch).toBe('function');
    vi.stubEnv('API_BASE_URL', 'https://api.example.com');
    vi.stubEnv('API_KEY', 'k');
    const fromEnvironment = createRequestBinding();
    expect(fromEnvironment.owned).toBe(true);
    await Promise.all([made.client?.close(), fromEnvironment.client?.close()]);
  });

  it('leaves a given client, and a pool, to the caller', async () => {
    const client = createApiClient(options);
    const shared = createRequestBinding({ client, as: () => undefined });
    expect(shared).toMatchObject({ client, owned: false });
    const pool = createClientPool({ resolve: () => options });
    expect(createRequestBinding({ pool, tenant: () => 'a' })).toMatchObject({
      client: undefined,
      owned: false,
    });
    await Promise.all([client.close(), pool.close()]);
  });
});

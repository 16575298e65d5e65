// What the Fastify plugin does beyond the adapter contract: who answers which error, who
// closes which client, and which options reach the client. On both Fastify majors.
import { Writable } from 'node:stream';
import {
  ConfigError,
  createApiClient,
  createClientPool,
  type ApiClientOptions,
} from '@tokenfetch/core';
import type { ApiFetch } from '@tokenfetch/core/adapter';
import tokenfetch, { tokenfetch as named, type TokenfetchOptions } from '@tokenfetch/fastify';
import {
  DEMO_API_KEY,
  DEMO_USER,
  startMockUpstream,
  type MockUpstream,
} from '@tokenfetch/mock-upstream';
import type { FastifyInstance } from 'fastify';
import Fastify4 from 'fastify-v4';
import Fastify40 from 'fastify-v4-0';
import Fastify5 from 'fastify-v5';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Fastify's factory, as these tests call it (`allowErrorHandlerOverride` is Fastify 5's). */
type CreateApp = (options?: {
  allowErrorHandlerOverride?: boolean;
  logger?: { level: string; stream: Writable };
}) => FastifyInstance;

const elsewhere = `/external?url=${encodeURIComponent('https://elsewhere.example/steal')}`;

describe.each([
  ['Fastify 4.0.0', Fastify40],
  ['Fastify 4', Fastify4],
  ['Fastify 5', Fastify5],
] as [string, CreateApp][])('@tokenfetch/fastify on %s', (_name, createApp) => {
  let upstream: MockUpstream;
  const apps: FastifyInstance[] = [];
  const closers: (() => Promise<void>)[] = [];
  const options = (): ApiClientOptions => ({
    baseUrl: upstream.baseUrl,
    auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
  });

  /** An app with the plugin, a route that calls the API, one that breaks the rules, one that throws. */
  async function appWith(
    pluginOptions: TokenfetchOptions,
    before?: (app: FastifyInstance) => void,
    fastifyOptions: Parameters<CreateApp>[0] = {},
  ): Promise<{ app: FastifyInstance }> {
    const app = createApp(fastifyOptions);
    apps.push(app);
    before?.(app);
    await app.register(tokenfetch, pluginOptions);
    app.get('/me', async (request) => (await request.apiFetch('/user/users/me')).json());
    app.get<{ Querystring: { url: string } }>('/external', async (request, reply) => {
      const response = await request.apiFetch(request.query.url);
      return reply.code(response.status).send();
    });
    app.get('/teapot', async () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 });
    });
    // Not the app itself: awaiting a Fastify instance loads it, and routes declared so
    // far would no longer see an error handler set after.
    return { app };
  }

  beforeEach(async () => {
    upstream = await startMockUpstream();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const app of apps.splice(0)) await app.close();
    for (const close of closers.splice(0).reverse()) await close();
    await upstream.close();
  });

  it('is the default export and the named export `tokenfetch`', () => {
    expect(named).toBe(tokenfetch);
  });

  describe('problemDetails', () => {
    it('answers a tokenfetch error as problem+json and leaves other errors to Fastify', async () => {
      const { app } = await appWith(options());
      const refused = await app.inject(elsewhere);
      expect(refused.statusCode).toBe(500);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ status: 500, code: 'E_CROSS_ORIGIN' });
      const teapot = await app.inject('/teapot');
      expect(teapot.statusCode).toBe(418);
      expect(teapot.headers['content-type']).toMatch(/^application\/json/);
      expect(teapot.json()).toMatchObject({ statusCode: 418, message: 'short and stout' });
    });

    it('with problemDetails: false hands tokenfetch errors to Fastify like any other', async () => {
      const { app } = await appWith({ ...options(), problemDetails: false });
      const refused = await app.inject(elsewhere);
      expect(refused.statusCode).toBe(500);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.json()).toMatchObject({ statusCode: 500, code: 'E_CROSS_ORIGIN' });
    });

    it('keeps your setErrorHandler for every other error, set before or after the plugin', async () => {
      const seen: string[] = [];
      const handler: Parameters<FastifyInstance['setErrorHandler']>[0] = (
        error,
        _request,
        reply,
      ) => {
        seen.push((error as Error).message);
        void reply.code(599).send({ mine: (error as Error).message });
      };
      for (const where of ['before', 'after'] as const) {
        seen.length = 0;
        const { app } = await appWith(
          options(),
          where === 'before' ? (app) => app.setErrorHandler(handler) : undefined,
        );
        if (where === 'after') app.setErrorHandler(handler);
        const teapot = await app.inject('/teapot');
        expect(teapot.statusCode, where).toBe(599);
        expect(teapot.json()).toEqual({ mine: 'short and stout' });
        const refused = await app.inject(elsewhere);
        expect(refused.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        expect(seen).toEqual(['short and stout']);
      }
    });

    it('with problemDetails: false your setErrorHandler gets the tokenfetch errors too', async () => {
      const { app } = await appWith({ ...options(), problemDetails: false });
      app.setErrorHandler((error, _request, reply) => {
        void reply.code(599).send({ code: (error as { code?: string }).code });
      });
      const refused = await app.inject(elsewhere);
      expect(refused.statusCode).toBe(599);
      expect(refused.json()).toEqual({ code: 'E_CROSS_ORIGIN' });
    });

    it('keeps a child scope’s error handler and a route’s own errorHandler for other errors', async () => {
      const { app } = await appWith(options());
      await app.register(async (child) => {
        child.setErrorHandler((error, _request, reply) => {
          void reply.code(597).send({ child: (error as Error).message });
        });
        child.get('/child/teapot', async () => {
          throw new Error('in the child');
        });
        child.get('/child/refused', (request) => request.apiFetch('https://elsewhere.example/'));
      });
      app.get(
        '/route/teapot',
        {
          errorHandler: (error, _request, reply) => {
            void reply.code(596).send({ route: error.message });
          },
        },
        async () => {
          throw new Error('in the route');
        },
      );
      expect((await app.inject('/child/teapot')).json()).toEqual({ child: 'in the child' });
      expect((await app.inject('/route/teapot')).json()).toEqual({ route: 'in the route' });
      const refused = await app.inject('/child/refused');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'E_CROSS_ORIGIN' });
    });

    it('answers a tokenfetch error thrown in a route’s hook, and apiFetch is there in every hook', async () => {
      const { app } = await appWith(options());
      app.get(
        '/hooked',
        {
          preHandler: async (request) => {
            await request.apiFetch('https://elsewhere.example/');
          },
        },
        () => ({ reached: true }),
      );
      const refused = await app.inject('/hooked');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'E_CROSS_ORIGIN' });
    });

    it('logs a tokenfetch error at error level, with the status it is answered with and no secret; a failed login once per cooldown window, through request.log', async () => {
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const { app } = await appWith(
        { ...options(), auth: { email: DEMO_USER.email, password: 'wrong-canary', orgId: 1 } },
        undefined,
        { logger: { level: 'info', stream } },
      );
      type Entry = { level: number; msg: string; reqId?: string; res?: { statusCode: number } };
      const errors = () =>
        lines.map((line) => JSON.parse(line) as Entry).filter((entry) => entry.level === 50);
      for (let i = 0; i < 2; i++) {
        lines.length = 0;
        expect((await app.inject(elsewhere)).statusCode).toBe(500);
        // As Fastify's own handler logs a 5xx: the reply's status is set when it is logged.
        expect(errors().map((entry) => entry.res?.statusCode)).toEqual([500]);
      }
      lines.length = 0;
      expect((await app.inject('/me')).statusCode).toBe(502);
      expect(errors()).toEqual([
        expect.objectContaining({
          msg: expect.stringMatching(/^tokenfetch: E_INVALID_CREDENTIALS: /) as unknown,
          reqId: expect.any(String) as unknown,
        }),
      ]);
      lines.length = 0;
      expect((await app.inject('/me')).statusCode).toBe(502);
      expect(errors()).toEqual([]);
      expect(lines.join('')).not.toContain('wrong-canary');
    });

    it('runs onError hooks once per error, tokenfetch or not', async () => {
      let onErrorCalls = 0;
      const { app } = await appWith(options(), (app) => {
        app.addHook('onError', (_request, _reply, _error, done) => {
          onErrorCalls++;
          done();
        });
        app.setErrorHandler((error, _request, reply) => {
          void reply.code(599).send({ mine: (error as Error).message });
        });
      });
      await app.inject('/teapot');
      expect(onErrorCalls).toBe(1);
      await app.inject(elsewhere);
      expect(onErrorCalls).toBe(2);
    });
  });

  if (createApp === Fastify5) {
    it('does not set the scope’s error handler: allowErrorHandlerOverride: false still lets you set yours', async () => {
      const { app } = await appWith(options(), undefined, { allowErrorHandlerOverride: false });
      expect(() =>
        app.setErrorHandler((_error, _request, reply) => {
          void reply.code(599).send();
        }),
      ).not.toThrow();
      expect((await app.inject('/teapot')).statusCode).toBe(599);
    });
  }

  describe('who closes the client', () => {
    /** The apiFetch of one request, kept past the app's close. */
    async function keptApiFetch(app: FastifyInstance): Promise<ApiFetch> {
      let kept: ApiFetch | undefined;
      app.get('/keep', (request, reply) => {
        kept = request.apiFetch;
        void reply.send();
      });
      await app.inject('/keep');
      return kept!;
    }

    it('app.close() closes the client the plugin made from options', async () => {
      const { app } = await appWith(options());
      const apiFetch = await keptApiFetch(app);
      expect((await apiFetch('/user/users/me')).status).toBe(200);
      await app.close();
      await expect(apiFetch('/user/users/me')).rejects.toMatchObject({ code: 'E_CLOSED' });
    });

    it('app.close() closes the client the plugin made from the environment', async () => {
      vi.stubEnv('API_BASE_URL', upstream.baseUrl);
      vi.stubEnv('API_KEY', 'demo-api-key');
      const { app } = await appWith({});
      vi.unstubAllEnvs();
      const apiFetch = await keptApiFetch(app);
      expect((await apiFetch('/user/users/me')).status).toBe(200);
      await app.close();
      await expect(apiFetch('/user/users/me')).rejects.toMatchObject({ code: 'E_CLOSED' });
    });

    it('leaves a { client } or a { pool } given to it open', async () => {
      const client = createApiClient(options());
      closers.push(() => client.close());
      const pool = createClientPool({ resolve: () => options() });
      closers.push(() => pool.close());
      const { app: withClient } = await appWith({ client });
      const { app: withPool } = await appWith({ pool, tenant: () => 'one' });
      await withClient.close();
      await withPool.close();
      expect((await client.fetch('/user/users/me')).status).toBe(200);
      expect((await pool.client('one').fetch('/user/users/me')).status).toBe(200);
    });
  });

  describe('options', () => {
    it('rejects register() and ready() with ConfigError for bad client options', async () => {
      const app = createApp();
      apps.push(app);
      await expect(
        app.register(tokenfetch, { baseUrl: 'not a url', auth: { apiKey: 'k' } }),
      ).rejects.toThrow(ConfigError);
    });

    it('rejects an `as` that is not a function at register()', async () => {
      const app = createApp();
      apps.push(app);
      await expect(app.register(tokenfetch, { ...options(), as: 'org' as never })).rejects.toThrow(
        /as: must be a function/,
      );
    });

    it('keeps Fastify’s register options (prefix, logLevel) away from the client', async () => {
      const { app } = await appWith({
        ...options(),
        prefix: '/v1',
        logLevel: 'warn',
      } as TokenfetchOptions);
      expect((await app.inject('/me')).json()).toMatchObject({ email: DEMO_USER.email });
    });

    it('lets a child scope register a client of its own, as an Express router may', async () => {
      const { app } = await appWith(options());
      await app.register(async (child) => {
        await child.register(tokenfetch, {
          baseUrl: upstream.baseUrl,
          auth: { apiKey: DEMO_API_KEY },
          problemDetails: false, // the parent's is on, and covers this scope's routes
        });
        child.get('/child/me', async (request) =>
          (await request.apiFetch('/user/users/me')).json(),
        );
        child.get('/child/external', async (request) => {
          await request.apiFetch('https://elsewhere.example/steal');
        });
      });
      expect((await app.inject('/me')).json()).toMatchObject({ email: DEMO_USER.email });
      expect((await app.inject('/child/me')).json()).not.toMatchObject({
        email: DEMO_USER.email,
      });
      expect(upstream.stats.successfulLogins).toBe(1); // the API key needs none
      const refused = await app.inject('/child/external');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('rejects a second registration in the same scope at register()', async () => {
      const { app } = await appWith(options());
      await expect(app.register(tokenfetch, options())).rejects.toThrow(
        /register: is registered twice in the same scope/,
      );
    });

    it('gives each request its own apiFetch, declared on every request', async () => {
      const { app } = await appWith(options());
      const fetches: ApiFetch[] = [];
      app.get('/collect', (request, reply) => {
        fetches.push(request.apiFetch);
        void reply.send({ own: Object.hasOwn(request, 'apiFetch') });
      });
      expect((await app.inject('/collect')).json()).toEqual({ own: true });
      await app.inject('/collect');
      expect(fetches[0]).not.toBe(fetches[1]);
      expect(app.hasRequestDecorator('apiFetch')).toBe(true);
    });
  });
});

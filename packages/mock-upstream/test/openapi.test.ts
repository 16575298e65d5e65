import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { MockUpstream } from '../src/index.js';
import { publicRoutes, routes } from '../src/routes.js';
import { bearer, start, token } from './helpers.js';

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Json = Record<string, unknown>;
interface Operation {
  security?: unknown[];
  parameters?: { name: string; in: string; example?: unknown }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, Json>;
}

const methods = new Set(['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace']);

async function documentOf(mock: MockUpstream): Promise<Json> {
  const res = await fetch(`${mock.baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(await res.text()) as Json;
}

function operationsOf(document: Json): [path: string, method: string, operation: Operation][] {
  return Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(
    ([path, item]) =>
      Object.entries(item)
        .filter(([method]) => methods.has(method))
        .map(([method, operation]) => [path, method, operation] as [string, string, Operation]),
  );
}

/** JSON pointer escaping of one reference token. */
const escape = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Checks an answer against the document: its status is one the operation documents
 * (exactly, as `3XX`, or `default`), and a JSON body validates against that response's
 * schema. Returns the parsed body.
 */
function conformance(document: Json) {
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  ajv.addFormat('password', true);
  ajv.addSchema(document, 'openapi.json');
  return async (res: Response, path: string, method: string): Promise<unknown> => {
    const operation = (document.paths as Record<string, Record<string, Operation>>)[path]?.[method];
    if (operation === undefined) throw new Error(`${method} ${path} is not documented`);
    const status = String(res.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => k in operation.responses);
    expect(key, `${method} ${path} answered ${status}, which is not documented`).toBeDefined();
    let pointer = `/paths/${escape(path)}/${method}/responses/${key}`;
    let response = operation.responses[key ?? ''] as Json;
    if (typeof response.$ref === 'string') {
      pointer = response.$ref.slice(1);
      const name = response.$ref.split('/').at(-1) ?? '';
      response = ((document.components as Json).responses as Record<string, Json>)[name] as Json;
    }
    const text = await res.text();
    if (method === 'head') {
      expect(text).toBe('');
      return undefined;
    }
    const content = response.content as Record<string, unknown> | undefined;
    if (content?.['application/json'] === undefined) {
      expect(text, `${method} ${path} ${status} documents no body`).toBe('');
      return undefined;
    }
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as unknown;
    const validate = ajv.getSchema(`openapi.json#${pointer}/content/application~1json/schema`);
    if (validate === undefined) throw new Error(`no schema at ${pointer}`);
    expect(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(
      true,
    );
    return body;
  };
}

describe('GET {prefix}/openapi.json', () => {
  it('serves an OpenAPI 3.1 document without credentials, and counts it as no call', async () => {
    const mock = await start();
    const document = await documentOf(mock);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.servers).toEqual([{ url: '/api' }]);
    const head = await fetch(`${mock.baseUrl}/openapi.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(mock.stats).toMatchObject({ calls: 0, rejectedCalls: 0 });
    expect(mock.requests).toEqual([]);
  });

  it('is a valid OpenAPI document by the specification’s own JSON Schema', async () => {
    const document = await documentOf(await start());
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('follows the prefix, and is the same on every port', async () => {
    const v2 = await start({ prefix: '/v2' });
    const root = await start({ prefix: '/' });
    expect((await documentOf(v2)).servers).toEqual([{ url: '/v2' }]);
    const atRoot = await fetch(`${root.origin}/openapi.json`);
    expect(((await atRoot.json()) as Json).servers).toEqual([{ url: '/' }]);
    expect(await documentOf(await start())).toEqual(await documentOf(await start()));
  });

  it('describes every route the server answers, with each of its methods, and nothing else', async () => {
    const document = await documentOf(await start());
    const described = new Map<string, string[]>();
    for (const [path, method] of operationsOf(document)) {
      described.set(path, [...(described.get(path) ?? []), method]);
    }
    const served = [...publicRoutes, ...routes].map(
      ({ path, methods: routeMethods }) => [path, [...routeMethods].sort()] as const,
    );
    expect(served.length).toBeGreaterThanOrEqual(8);
    expect([...described].map(([path, list]) => [path, list.sort()])).toEqual(
      expect.arrayContaining(served.map(([path, list]) => [path, list])),
    );
    expect(described.size).toBe(served.length);
  });

  it('declares bearer, x-api-key and impersonate-user-id security, and the login needs none', async () => {
    const document = await documentOf(await start());
    const { securitySchemes } = document.components as { securitySchemes: Json };
    expect(securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
      impersonateUserId: expect.objectContaining({
        type: 'apiKey',
        in: 'header',
        name: 'impersonate-user-id',
      }),
    });
    expect(document.security).toEqual([
      { bearerAuth: [] },
      { apiKey: [] },
      { apiKey: [], impersonateUserId: [] },
    ]);
    const login = operationsOf(document).find(([path]) => path === '/user/authenticate');
    expect(login?.[2].security).toEqual([]);
    expect(Object.keys(login?.[2].responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '404']),
    );
  });
});

describe('the document describes what the server answers', () => {
  it('each operation’s example request answers a documented status with a body of its schema', async () => {
    const mock = await start();
    const document = await documentOf(mock);
    const check = conformance(document);
    const value = await token(mock);
    const operations = operationsOf(document);
    expect(operations.length).toBeGreaterThan(20);

    for (const [path, method, operation] of operations) {
      const parameters = operation.parameters ?? [];
      const example = (name: string) =>
        encodeURIComponent(String(parameters.find((p) => p.name === name)?.example));
      const query = new URLSearchParams();
      for (const p of parameters) if (p.in === 'query') query.set(p.name, String(p.example));
      const target = path.replace(/\{(\w+)\}/g, (_match, name: string) => example(name));
      const body = operation.requestBody?.content['application/json']?.example;
      const res = await fetch(`${mock.baseUrl}${target}${query.size > 0 ? `?${query}` : ''}`, {
        method: method.toUpperCase(),
        redirect: 'manual',
        headers: {
          ...(operation.security?.length === 0 ? {} : bearer(value)),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(res.status, `${method} ${path}`).toBeLessThan(400);
      await check(res, path, method);
    }
  });

  it('each operation that needs credentials documents the 403 it answers without them', async () => {
    const mock = await start();
    const document = await documentOf(mock);
    const check = conformance(document);
    for (const [path, method, operation] of operationsOf(document)) {
      if (operation.security?.length === 0) continue;
      const target = path.replace(/\{(\w+)\}/g, '1');
      const res = await fetch(`${mock.baseUrl}${target}`, { method: method.toUpperCase() });
      expect(res.status, `${method} ${path}`).toBe(403);
      await check(res, path, method);
    }
  });

  it('documents the login’s 400, 401 and 404 with their bodies', async () => {
    const mock = await start();
    const check = conformance(await documentOf(mock));
    const login = (body: unknown) =>
      fetch(`${mock.baseUrl}/user/authenticate`, { method: 'POST', body: JSON.stringify(body) });
    const answers = [
      await login({ email: 'x' }),
      await login({ email: 'x', password: 'y', selectedOrg: 1 }),
      await login({ email: 'demo@example.com', password: 'demo-password', selectedOrg: 2 }),
    ];
    expect(answers.map((res) => res.status)).toEqual([400, 401, 404]);
    for (const res of answers) await check(res, '/user/authenticate', 'post');
  });

  it('documents a widget’s 400 and 404, and an impersonating API-key call', async () => {
    const mock = await start({ users: [{ email: 'a@b.c', password: 'p', orgs: [1], id: 5 }] });
    const check = conformance(await documentOf(mock));
    const key = { 'x-api-key': 'demo-api-key' };
    const invalid = await fetch(`${mock.baseUrl}/widgets`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    expect(invalid.status).toBe(400);
    await check(invalid, '/widgets', 'post');
    const missing = await fetch(`${mock.baseUrl}/widgets/999`, { headers: key });
    expect(missing.status).toBe(404);
    await check(missing, '/widgets/{id}', 'get');
    const acting = await fetch(`${mock.baseUrl}/user/users/me`, {
      headers: { ...key, 'impersonate-user-id': '5' },
    });
    expect(await check(acting, '/user/users/me', 'get')).toMatchObject({ id: 5 });
  });
});

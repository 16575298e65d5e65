import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { actingAs } from './identify-caller.js';
import type { Caller } from './identify-caller.js';
import { sendJson } from './respond.js';
import { parseNewWidget } from './widget-store.js';
import type { WidgetStore } from './widget-store.js';

/** An authenticated call under the prefix, body already read. */
export interface CallContext {
  readonly method: string;
  readonly url: URL;
  /** The path after the prefix: `''` or starting with `/`. */
  readonly subPath: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly caller: Caller;
  readonly widgets: WidgetStore;
}

/** An HTTP method as OpenAPI spells it. */
export type RouteMethod = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';

/** A path (an OpenAPI path template below the prefix) and the methods it is documented with. */
export interface RouteSpec {
  readonly path: string;
  readonly methods: readonly RouteMethod[];
}

/** A route that needs credentials: matched in order, the echo last, for every other call. */
export interface Route extends RouteSpec {
  /** Answers every method, documented as `methods`; otherwise other methods fall through. */
  readonly anyMethod: boolean;
  /** The path parameters when `subPath` is this route's path, else `undefined`. */
  match(subPath: string): Readonly<Record<string, string>> | undefined;
  answer(res: ServerResponse, call: CallContext, params: Readonly<Record<string, string>>): void;
}

/** Documented for routes that answer any method. */
export const commonMethods = ['get', 'head', 'post', 'put', 'patch', 'delete'] as const;

/** The routes answered without credentials; the server handles them before `routes`. */
export const publicRoutes = [
  { path: '/user/authenticate', methods: ['post'] },
  { path: '/openapi.json', methods: ['get', 'head'] },
] as const satisfies readonly RouteSpec[];

/** Every route that needs credentials, in matching order; the OpenAPI document lists these. */
export const routes = [
  route({
    path: '/user/users/me',
    methods: ['get', 'head'],
    answer(res, call) {
      const { user, orgId } = actingAs(call.caller);
      sendJson(res, 200, { ...user, currentOrg: { id: orgId } });
    },
  }),
  route({
    path: '/widgets',
    methods: ['get', 'post'],
    answer(res, call) {
      const { user, orgId } = actingAs(call.caller);
      if (call.method === 'GET') {
        sendJson(res, 200, { widgets: call.widgets.list(orgId) });
        return;
      }
      const parsed = parseNewWidget(call.body);
      if (!parsed.ok) {
        sendJson(res, 400, { error: parsed.error });
        return;
      }
      const widget = call.widgets.create(parsed.widget, orgId, user.id);
      sendJson(res, 201, widget, { location: `${call.url.pathname}/${widget.id}` });
    },
  }),
  route({
    path: '/widgets/{id}',
    methods: ['get'],
    answer(res, call, params) {
      const id = /^\d{1,15}$/.test(params.id ?? '') ? Number(params.id) : Number.NaN;
      const widget = call.widgets.find(id, actingAs(call.caller).orgId);
      if (widget === undefined) sendJson(res, 404, { error: 'no such widget in this org' });
      else sendJson(res, 200, widget);
    },
  }),
  route({
    path: '/redirect',
    methods: commonMethods,
    anyMethod: true,
    answer(res, call) {
      redirect(res, call.url);
    },
  }),
  route({
    path: '/status/{code}',
    methods: commonMethods,
    anyMethod: true,
    params: { code: '\\d{3}' },
    answer(res, _call, params) {
      const status = Number(params.code);
      if (status < 200 || status > 599) {
        sendJson(res, 400, { error: 'status must be from 200 to 599' });
      } else {
        sendJson(res, status, { status, message: STATUS_CODES[status] ?? 'Unknown' });
      }
    },
  }),
  route({
    path: '/echo',
    methods: commonMethods,
    anyMethod: true,
    fallback: true,
    answer(res, call) {
      sendJson(res, 200, echo(call));
    },
  }),
] as const;

/** Every path the server answers, public or not, with the methods it is documented with. */
export type DocumentedRoutes = {
  [R in (typeof publicRoutes)[number] | (typeof routes)[number] as R['path']]: R['methods'][number];
};

/** The methods documented for a route that answers any method. */
export type CommonMethod = (typeof commonMethods)[number];

/**
 * Answers an authenticated call with the first route whose path and method match; every
 * call no other route takes gets the echo.
 */
export function answerCall(res: ServerResponse, call: CallContext): void {
  const method = call.method.toLowerCase();
  for (const candidate of routes) {
    if (!candidate.anyMethod && !(candidate.methods as readonly string[]).includes(method))
      continue;
    const params = candidate.match(call.subPath);
    if (params !== undefined) return candidate.answer(res, call, params);
  }
}

/**
 * A route whose path template also matches: `{name}` takes one path segment, or what
 * `params[name]` (a regular expression source) allows. A `fallback` route matches any path.
 */
function route<const P extends string, const M extends readonly RouteMethod[]>(spec: {
  path: P;
  methods: M;
  anyMethod?: boolean;
  params?: Readonly<Record<string, string>>;
  fallback?: boolean;
  answer: Route['answer'];
}): Route & { readonly path: P; readonly methods: M } {
  const names: string[] = [];
  const source = spec.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(name);
      return `(${spec.params?.[name] ?? '[^/]+'})`;
    })
    .join('');
  const pattern = new RegExp(`^${source}$`);
  return {
    path: spec.path,
    methods: spec.methods,
    anyMethod: spec.anyMethod ?? false,
    match(subPath) {
      if (spec.fallback === true) return {};
      const found = pattern.exec(subPath);
      if (found === null) return undefined;
      return Object.fromEntries(names.map((name, i) => [name, found[i + 1] ?? '']));
    },
    answer: spec.answer,
  };
}

const secretHeaders = ['authorization', 'x-api-key'];

function redirect(res: ServerResponse, url: URL): void {
  const to = url.searchParams.get('to');
  const status = Number(url.searchParams.get('status') ?? 302);
  if (to === null || to === '') {
    sendJson(res, 400, { error: 'redirect needs a `to` query parameter' });
  } else if (!Number.isInteger(status) || status < 300 || status > 399) {
    sendJson(res, 400, { error: 'redirect status must be from 300 to 399' });
  } else {
    sendJson(res, status, { redirectTo: to }, { location: to });
  }
}

function echo(call: CallContext): unknown {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(call.url.searchParams.keys())) {
    const values = call.url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  const headers: IncomingHttpHeaders = { ...call.headers };
  for (const name of secretHeaders) if (headers[name] !== undefined) headers[name] = 'present';
  return {
    method: call.method,
    path: call.url.pathname,
    query,
    headers,
    body: echoBody(call.body, call.headers['content-type']),
  };
}

function echoBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return null;
  if (contentType !== undefined && /^[^;]*[/+]json\s*(;|$)/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { actingAs } from './identify-caller.js';
import type { Caller } from './identify-caller.js';
import { sendJson } from './respond.js';

/** An authenticated call under the prefix, body already read. */
export interface CallContext {
  readonly method: string;
  readonly url: URL;
  /** The path after the prefix: `''` or starting with `/`. */
  readonly subPath: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly caller: Caller;
}

const statusRoute = /^\/status\/(\d{3})$/;
const secretHeaders = ['authorization', 'x-api-key'];

/**
 * Answers an authenticated call: `GET /user/users/me`, `/redirect?to=&status=`,
 * `/status/<code>`, or else an echo of the request.
 */
export function answerCall(res: ServerResponse, call: CallContext): void {
  if (call.subPath === '/user/users/me' && (call.method === 'GET' || call.method === 'HEAD')) {
    const { user, orgId } = actingAs(call.caller);
    sendJson(res, 200, { ...user, currentOrg: { id: orgId } });
    return;
  }
  if (call.subPath === '/redirect') {
    redirect(res, call.url);
    return;
  }
  const statusMatch = statusRoute.exec(call.subPath);
  if (statusMatch !== null) {
    const status = Number(statusMatch[1]);
    if (status < 200 || status > 599) {
      sendJson(res, 400, { error: 'status must be from 200 to 599' });
    } else {
      sendJson(res, status, { status, message: STATUS_CODES[status] ?? 'Unknown' });
    }
    return;
  }
  sendJson(res, 200, echo(call));
}

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

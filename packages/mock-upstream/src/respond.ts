import type { ServerResponse } from 'node:http';

const bodilessStatuses = new Set([204, 205, 304]);

/**
 * Answers with a JSON body (none for 204/205/304). Does nothing if the response
 * already started or its socket is gone, so late answers never throw.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  if (bodilessStatuses.has(status)) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** A web server's 404 page: `text/html`, as an Express app or nginx answers a path it lacks. */
export function sendHtmlNotFound(
  res: ServerResponse,
  method: string | undefined,
  path: string,
): void {
  if (res.headersSent || res.destroyed) return;
  const escaped = `${method ?? 'GET'} ${path}`.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const page = `<!DOCTYPE html>\n<html lang="en"><head><title>Error</title></head><body><pre>Cannot ${escaped}</pre></body></html>\n`;
  res.writeHead(404, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(page)),
  });
  res.end(page);
}

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { base64, base64UrlText, utf8Bytes, utf8Text, wellFormed } from '../src/shared/bytes.js';
import { jwtExpiry } from '../src/engine/jwt.js';
import * as node from '../src/platform/node.js';
import { sha256Hex } from '../src/platform/sha256.js';
import * as web from '../src/platform/web.js';
import { toTarget } from '../src/transport/transport.js';
import { startRecorder } from './helpers.js';

// The tests run on Node, where `#platform` is node.ts; web.ts is what Bun, Deno and
// Workers get (package.json `imports`). The two must say the same things.
const platforms: Record<string, typeof node> = { node, web };

describe('#platform', () => {
  it('web and node export the same names', () => {
    expect(Object.keys(web).sort()).toEqual(Object.keys(node).sort());
  });

  it('hash store keys alike on every runtime (one Redis keyspace for a mixed fleet)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const expected = createHash('sha256').update(text).digest('hex');
        expect(sha256Hex(text)).toBe(expected);
        expect(web.sha256Hex(text)).toBe(expected);
        expect(node.sha256Hex(text)).toBe(expected);
      }),
    );
    for (const length of [55, 56, 63, 64, 65, 119, 120, 1000]) {
      const text = 'x'.repeat(length);
      expect(web.sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });

  it('on the web, names the proxy variable the runtime would send a target through, reading NO_PROXY as Bun and Deno do; on Node none', () => {
    for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTPS_PROXY', 'NO_PROXY']) {
      vi.stubEnv(name, '');
    }
    vi.stubEnv('HTTP_PROXY', 'http://proxy.corp.example:3128');
    const local = new URL('http://127.0.0.1:4010/api');
    expect(web.proxyVariableFor(local)).toBe('HTTP_PROXY');
    expect(web.proxyVariableFor(new URL('https://localhost/api'))).toBe('HTTP_PROXY');
    const direct = ['*', '127.0.0.1', ' example.com, 127.0.0.1 ', '127.0.0.1:4010', '.0.0.1'];
    for (const noProxy of direct) {
      vi.stubEnv('NO_PROXY', noProxy);
      expect(web.proxyVariableFor(local), noProxy).toBeUndefined();
    }
    for (const noProxy of ['127.0.0.1:9', 'example.com', 'localhost', '27.0.0.1']) {
      vi.stubEnv('NO_PROXY', noProxy);
      expect(web.proxyVariableFor(local), noProxy).toBe('HTTP_PROXY');
    }
    vi.stubEnv('NO_PROXY', '');
    vi.stubEnv('https_proxy', 'http://proxy.corp.example:3129');
    expect(web.proxyVariableFor(new URL('https://localhost/api'))).toBe('https_proxy');
    expect(web.proxyVariableFor(local)).toBe('HTTP_PROXY');
    expect(node.proxyVariableFor(local)).toBeUndefined();
    vi.unstubAllEnvs();
  });

  it('on the web, a dispatcher is refused with a reason and a pool gets no shared Agent; on Node both work', () => {
    expect(web.dispatcherUnsupported).toMatch(/on Node only/);
    expect(web.sharedDispatcher()).toBeUndefined();
    expect(node.dispatcherUnsupported).toBeUndefined();
    const agent = node.sharedDispatcher();
    expect(typeof agent?.dispatch).toBe('function');
    void agent?.close();
  });

  it('on the web, proxy variables make no dispatcher (Bun and Deno fetch read them themselves)', () => {
    const issues: never[] = [];
    const env = { HTTPS_PROXY: 'http://proxy.test:3128' };
    expect(web.proxyFromEnv(env, issues)).toBeUndefined();
    expect(issues).toEqual([]);
    expect(node.proxyFromEnv(env, issues)).toBeDefined();
  });

  it('the web transport calls the global fetch of the moment, with manual redirects and a timeout', async () => {
    const upstream = await startRecorder((request) =>
      request.url === '/moved' ? { status: 302, headers: { location: '/elsewhere' } } : {},
    );
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const transport = web.createDefaultTransport(5_000, undefined);
      const target = (path: string) => toTarget(new URL(path, upstream.origin));
      const answer = await transport.send(target('/hello'), {
        method: 'POST',
        headers: { 'x-one': '1' },
        body: 'hi',
        signal: undefined,
      });
      expect(await answer.text()).toBe('ok');
      const moved = await transport.send(target('/moved'), {
        method: 'GET',
        headers: {},
        body: undefined,
        signal: undefined,
      });
      expect(moved.status).toBe(302);
      expect(spy).toHaveBeenCalledTimes(2);
      expect(
        upstream.requests.map((request) => [request.method, request.url, request.body]),
      ).toEqual([
        ['POST', '/hello', 'hi'],
        ['GET', '/moved', ''],
      ]);
      expect(upstream.requests[0]?.headers['x-one']).toBe('1');
      await transport.close(new Error('closed'));
    } finally {
      spy.mockRestore();
    }
  });

  for (const [name, platform] of Object.entries(platforms)) {
    it(`${name}: marks an answer redirected and discards one unread`, async () => {
      const response = new Response('body');
      expect(platform.markRedirected(response).redirected).toBe(true);
      expect(response.clone().redirected).toBe(true);
      const unread = new Response(new ReadableStream({ pull: () => {} }));
      await platform.discardResponse(unread);
      // Cancelled, as fetch's cancel() does: nobody reads it any more.
      expect(unread.bodyUsed).toBe(true);
      await platform.discardResponse(new Response(null, { status: 204 }));
    });
  }
});

describe('bytes without Buffer', () => {
  it('base64 and UTF-8 agree with Buffer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.string({ unit: 'binary' }),
        (bytes, text) => {
          expect(base64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
          expect(utf8Text([bytes])).toBe(Buffer.from(bytes).toString('utf8'));
          expect(utf8Text([bytes.subarray(0, 7), bytes.subarray(7)])).toBe(
            Buffer.from(bytes).toString('utf8'),
          );
          expect(Buffer.from(utf8Bytes(text)).equals(Buffer.from(text, 'utf8'))).toBe(true);
          expect(wellFormed(text)).toBe(Buffer.from(text, 'utf8').toString('utf8'));
          const url = Buffer.from(text, 'utf8').toString('base64url');
          expect(base64UrlText(url)).toBe(text);
        },
      ),
    );
  });

  it('reads a JWT payload with padding or whitespace around it, as Buffer did', () => {
    const payload = Buffer.from('{"exp":2000000000}').toString('base64url');
    expect(payload.length % 4).toBe(0);
    for (const odd of [
      `${payload}=`,
      `${payload}==`,
      `${payload} `,
      `${payload}\n`,
      'eyJhIjoxfQ==',
    ]) {
      expect(base64UrlText(odd)).toBe(Buffer.from(odd, 'base64url').toString('utf8'));
      expect(jwtExpiry(`h.${odd}.s`)).toBe(odd === 'eyJhIjoxfQ==' ? undefined : 2_000_000_000_000);
    }
  });

  it('keeps a byte order mark, as Buffer did, and says when text is not base64', () => {
    expect(utf8Text([new Uint8Array([0xef, 0xbb, 0xbf, 0x41])])).toBe('\uFEFFA');
    expect(base64UrlText('not base64!')).toBeUndefined();
  });
});

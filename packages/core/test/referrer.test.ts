// fetch's Referer, policy by policy (the Referrer Policy spec's table, as Node's fetch sends
// it): what client.fetch's referrer.ts computes for a request, checked without I/O here;
// fetch-conformance.test.ts checks it end to end over HTTP.
import { describe, expect, it } from 'vitest';
import { callReferrer, determineReferrer, redirectPolicy } from '../src/client/referrer.js';

const page = new URL('https://app.example/page?q=1#frag');
const sameOrigin = new URL('https://app.example/api/x');
const crossOrigin = new URL('https://api.example/x');
const downgrade = new URL('http://api.example/x');

const full = 'https://app.example/page?q=1';
const origin = 'https://app.example/';

// policy → Referer sent to [same origin, cross origin (https), downgrade (http)]
const table: Record<ReferrerPolicy, [string | undefined, string | undefined, string | undefined]> =
  {
    'no-referrer': [undefined, undefined, undefined],
    'no-referrer-when-downgrade': [full, full, undefined],
    'same-origin': [full, undefined, undefined],
    origin: [origin, origin, origin],
    'strict-origin': [origin, origin, undefined],
    'origin-when-cross-origin': [full, origin, origin],
    'strict-origin-when-cross-origin': [full, origin, undefined],
    'unsafe-url': [full, full, full],
    '': [full, origin, undefined],
  };

describe('determineReferrer', () => {
  it.each(Object.entries(table))('%s', (policy, expected) => {
    const sent = [sameOrigin, crossOrigin, downgrade].map(
      (target) => determineReferrer(page, policy as ReferrerPolicy, target)?.href,
    );
    expect(sent).toEqual(expected);
  });

  it('never sends credentials or a fragment; a URL over 4,096 characters goes as its origin', () => {
    const withUser = new URL('https://user:pw@app.example/p#f');
    expect(determineReferrer(withUser, 'unsafe-url', crossOrigin)?.href).toBe(
      'https://app.example/p',
    );
    const long = new URL(`https://app.example/${'x'.repeat(5000)}`);
    expect(determineReferrer(long, 'unsafe-url', sameOrigin)?.href).toBe(origin);
  });

  it('sends nothing for a referrer that is about:, blob: or data:', () => {
    for (const source of ['about:blank', 'data:text/plain,x', 'blob:https://app.example/1']) {
      expect(determineReferrer(new URL(source), 'unsafe-url', sameOrigin)).toBeUndefined();
    }
  });
});

describe('callReferrer', () => {
  it('takes a referrer and a policy as new Request does', () => {
    expect(callReferrer(full, 'origin')).toEqual({ referrer: new URL(full), policy: 'origin' });
    expect(callReferrer(full, '')).toMatchObject({ policy: 'strict-origin-when-cross-origin' });
    expect(callReferrer('', undefined)).toEqual({
      referrer: undefined,
      policy: 'strict-origin-when-cross-origin',
    });
    expect(callReferrer('about:client', undefined).referrer).toBeUndefined();
    expect(() => callReferrer('not a url', undefined)).toThrow(TypeError);
    expect(() => callReferrer(full, 'everywhere' as ReferrerPolicy)).toThrow(
      "'everywhere' is not a valid referrer policy.",
    );
  });
});

describe('redirectPolicy', () => {
  it("reads a redirect's Referrer-Policy: its last known token, else the call's", () => {
    expect(redirectPolicy(null)).toBeUndefined();
    expect(redirectPolicy('origin')).toBe('origin');
    expect(redirectPolicy('no-referrer, unsafe-url')).toBe('unsafe-url');
    expect(redirectPolicy('same-origin, made-up')).toBe('same-origin');
    expect(redirectPolicy('made-up')).toBeUndefined();
  });
});

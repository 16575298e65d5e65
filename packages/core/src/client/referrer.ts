/**
 * fetch's `Referer`: the referrer and referrer policy of a call (`init.referrer`,
 * `init.referrerPolicy`, or a `Request`'s), the `Referer` each request of it sends, and a
 * redirect's `Referrer-Policy` (the Fetch and Referrer Policy specs, as undici does them).
 * A call with neither (the common case) costs one read of a global: undici's global origin,
 * which is fetch's "client" referrer when set (`setGlobalOrigin`).
 */

/** What a call's requests are sent with: the referrer's source, or none. */
export interface CallReferrer {
  /** The referrer, stripped for each request by `policy`; `undefined`: no referrer. */
  referrer: URL | undefined;
  policy: ReferrerPolicy;
}

const policies = new Set<string>([
  'no-referrer',
  'no-referrer-when-downgrade',
  'same-origin',
  'origin',
  'strict-origin',
  'origin-when-cross-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
]);
const defaultPolicy: ReferrerPolicy = 'strict-origin-when-cross-origin';

/** undici's global origin (its `setGlobalOrigin`), shared by every copy of undici and Node's fetch. */
const globalOrigin = Symbol.for('undici.globalOrigin.1');

/** fetch's "client" referrer: the global origin when one is set, else none. */
export function clientReferrer(): URL | undefined {
  const origin = (globalThis as Record<symbol, unknown>)[globalOrigin];
  return origin instanceof URL && origin.origin !== 'null' ? origin : undefined;
}

/** A call's referrer and policy from `init` (or a `Request`'s), checked as `new Request` checks them. */
export function callReferrer(
  referrer: string | undefined,
  policy: ReferrerPolicy | undefined,
): CallReferrer {
  if (policy !== undefined && policy !== '' && !policies.has(policy)) {
    throw new TypeError(`'${policy}' is not a valid referrer policy.`);
  }
  const chosen = policy === undefined || policy === '' ? defaultPolicy : policy;
  if (referrer === undefined || referrer === 'about:client') {
    return { referrer: clientReferrer(), policy: chosen };
  }
  if (referrer === '') return { referrer: undefined, policy: chosen };
  const base = clientReferrer();
  let parsed: URL;
  try {
    parsed = new URL(referrer, base);
  } catch (error) {
    throw new TypeError(`Referrer "${referrer}" is not a valid URL.`, { cause: error });
  }
  // about:client, or (with a global origin) a referrer of another origin: the client's.
  if (
    (parsed.protocol === 'about:' && parsed.pathname === 'client') ||
    (base !== undefined && parsed.origin !== base.origin)
  ) {
    return { referrer: base, policy: chosen };
  }
  return { referrer: parsed, policy: chosen };
}

/**
 * The referrer a request to `current` is sent with ("determine request's referrer"): the
 * `Referer`, or `undefined` for none. Each redirect hop starts from the previous hop's.
 */
export function determineReferrer(
  source: URL,
  policy: ReferrerPolicy,
  current: URL,
): URL | undefined {
  let referrerUrl = strip(source, false);
  const referrerOrigin = strip(source, true);
  if (referrerUrl === undefined || referrerOrigin === undefined) return undefined;
  if (referrerUrl.href.length > 4096) referrerUrl = referrerOrigin;
  const downgrade = () => isTrustworthy(referrerUrl) && !isTrustworthy(current);
  const sameOrigin = referrerUrl.origin === current.origin;
  switch (policy) {
    case 'no-referrer':
      return undefined;
    case 'origin':
      return referrerOrigin;
    case 'unsafe-url':
      return referrerUrl;
    case 'strict-origin':
      return downgrade() ? undefined : referrerOrigin;
    case 'same-origin':
      return sameOrigin ? referrerUrl : undefined;
    case 'origin-when-cross-origin':
      return sameOrigin ? referrerUrl : referrerOrigin;
    case 'no-referrer-when-downgrade':
      return downgrade() ? undefined : referrerUrl;
    default:
      // strict-origin-when-cross-origin
      if (sameOrigin) return referrerUrl;
      return downgrade() ? undefined : referrerOrigin;
  }
}

/** A redirect's `Referrer-Policy`: its last known token, or `undefined` to keep the call's. */
export function redirectPolicy(header: string | null): ReferrerPolicy | undefined {
  if (header === null) return undefined;
  const tokens = header.split(',');
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i]!.trim();
    if (policies.has(token)) return token as ReferrerPolicy;
  }
  return undefined;
}

/** A URL stripped for use as a referrer: no credentials or fragment (and only the origin). */
function strip(url: URL, originOnly: boolean): URL | undefined {
  if (url.protocol === 'about:' || url.protocol === 'blob:' || url.protocol === 'data:') {
    return undefined;
  }
  const out = new URL(url.href);
  out.username = '';
  out.password = '';
  out.hash = '';
  if (originOnly) {
    out.pathname = '';
    out.search = '';
  }
  return out;
}

/** "Is URL potentially trustworthy": https, loopback, localhost, file. */
function isTrustworthy(url: URL): boolean {
  if (url.protocol === 'https:' || url.protocol === 'wss:' || url.protocol === 'file:') return true;
  const host = url.hostname;
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '[::1]' ||
    host === 'localhost' ||
    host === 'localhost.' ||
    host.endsWith('.localhost') ||
    host.endsWith('.localhost.')
  );
}

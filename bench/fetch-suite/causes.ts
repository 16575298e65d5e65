/**
 * Why client.fetch fails a test of undici's fetch suite that Node's fetch passes: each cause
 * with the tests it explains, as found by reading them (a test not listed shows as "not yet
 * classified" in the report, with its error).
 */
export interface Cause {
  title: string;
  note?: string;
  tests: { file: string; test: string | RegExp }[];
}

const causes: Cause[] = [
  {
    title: 'per-call `dispatcher` (in RequestInit) ignored',
    note: "the call goes through the client's own Agent: an `allowH2` Agent, a custom Agent, a dispatcher that answers by itself are never used; mapping `init.dispatcher` to the `dispatcher` option fixes those whose dispatcher has `request()`",
    tests: [
      { file: 'http2.js', test: /./ },
      { file: 'client-fetch.js', test: 'custom agent' },
      { file: 'client-fetch.js', test: 'custom agent node fetch' },
      {
        file: 'issue-2898-comment.js',
        test: 'issue #2828, RequestInit dispatcher options overrides Request input dispatcher',
      },
    ],
  },
  {
    title: 'a dispatcher with only `dispatch()` (no `request()`) cannot be used',
    note: 'the `dispatcher` option calls `dispatcher.request()`; fetch needs only `dispatch()`, so mapping the per-call dispatcher does not help these',
    tests: [
      { file: 'issue-4897.js', test: /^fetch path extraction/ },
      { file: 'issue-2828.js', test: 'issue #2828, dispatcher is allowed in RequestInit options' },
    ],
  },
  {
    title: '`referrer` / `referrerPolicy` dropped (no `Referer` header)',
    note: "neither the init option nor a redirect's `Referrer-Policy` is applied",
    tests: [
      { file: 'referrrer-policy.js', test: /^referrer-policy > / },
      { file: 'issue-3767.js', test: 'referrerPolicy unsafe-url is respected' },
    ],
  },
  {
    title: '`integrity` not checked',
    tests: [{ file: 'integrity.js', test: /./ }],
  },
  {
    title: 'no resource-timing entry per call',
    note: 'the tests wait for a `PerformanceObserver` entry that never comes (20 s test timeout)',
    tests: [{ file: 'resource-timing.js', test: /./ }],
  },
  {
    title: '`window` dropped',
    note: 'fetch rejects `window` other than null/undefined with a TypeError',
    tests: [
      {
        file: '407-statuscode-window-null.js',
        test: 'Receiving a 407 status code w/ a window option present should reject',
      },
    ],
  },
  {
    title: 'header names lower-cased on the wire',
    tests: [{ file: 'headers-case.js', test: 'Headers retain keys case-sensitive' }],
  },
  {
    title: 'MaxListenersExceededWarning: one listener per call on a shared signal',
    tests: [{ file: 'issue-node-46525.js', test: 'No warning when reusing AbortController' }],
  },
  {
    title: 'a non-ASCII `Location` read as Latin-1',
    note: 'the UTF-8 bytes of the header are percent-encoded once more',
    tests: [
      {
        file: 'fetch-url-after-redirect.js',
        test: 'location header with non-ASCII character redirects to a properly encoded url',
      },
    ],
  },
  {
    title: "`timeoutMs` (30 s) overrides the dispatcher's own `headersTimeout`/`bodyTimeout`",
    tests: [
      {
        file: 'fetch-timeouts.js',
        test: 'Fetch very long request, timeout overridden so no error',
      },
    ],
  },
  {
    title: "`redirect: 'error'` rejects without fetch's `cause`",
    tests: [{ file: 'client-fetch.js', test: 'error on redirect' }],
  },
  {
    title: '`fetch()` with no URL (or a non-HTTP one) is a CrossOriginError, not a TypeError',
    tests: [{ file: 'client-fetch.js', test: 'args validation' }],
  },
  {
    title: 'a stream body is not cancelled when the signal is already aborted',
    note: 'fetch cancels the request body stream with the AbortError; tokenfetch rejects without touching it',
    tests: [{ file: 'client-fetch.js', test: 'pre aborted with readable request body' }],
  },
  {
    title:
      "a relative URL resolves under `baseUrl`, not against undici's global origin (by design)",
    note: 'with no global origin fetch rejects `/relative/path` with a TypeError; client.fetch sends it under its base URL (the subtests are not reached)',
    tests: [{ file: 'relative-url.js', test: /^fetch( > |$)/ }],
  },
];

export function causeOf(file: string, test: string): Cause | undefined {
  return causes.find((cause) =>
    cause.tests.some(
      (entry) =>
        entry.file === file &&
        (typeof entry.test === 'string' ? entry.test === test : entry.test.test(test)),
    ),
  );
}

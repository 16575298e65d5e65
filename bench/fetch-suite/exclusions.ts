/**
 * Tests of undici's fetch suite whose subject is something client.fetch refuses on purpose
 * (docs/guarantees.md, guarantee 8): left out of the count for every fetch under test,
 * Node's included, whatever their result.
 */
const exclusions: { file: string; test: string | RegExp; reason: string }[] = [
  {
    file: 'blob-uri.js',
    test: /^fetching blob: uris/,
    reason: 'a `blob:` URL is outside the base URL: refused (CrossOriginError)',
  },
  {
    file: 'data-uri.js',
    test: /./,
    reason: 'a `data:` URL is outside the base URL: refused (CrossOriginError)',
  },
  {
    file: 'about-uri.js',
    test: /^fetching about: uris/,
    reason: 'an `about:` URL is outside the base URL: refused (CrossOriginError)',
  },
  {
    file: 'redirect-cross-origin-header.js',
    test: 'Cross-origin redirects clear forbidden headers',
    reason:
      'a caller-set `Authorization` is refused (ConfigError), and a cross-origin redirect is handed back, not followed',
  },
  {
    file: 'issue-4647.js',
    test: 'fetch with mode: no-cors does not hang',
    reason: 'a redirect to another origin (another port) is handed back, not followed',
  },
  {
    file: 'issue-1711.js',
    test: 'Redirecting a bunch does not cause a MaxListenersExceededWarning',
    reason: '15 redirects: tokenfetch follows at most 5 and hands back the 6th',
  },
];

/** Why the test is left out, or `undefined` when it counts. */
export function excludedBecause(file: string, test: string): string | undefined {
  return exclusions.find(
    (entry) =>
      entry.file === file &&
      (typeof entry.test === 'string' ? entry.test === test : entry.test.test(test)),
  )?.reason;
}

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
    title: 'no resource-timing entry by default (`resourceTiming: true` makes them; by design)',
    note: 'each entry costs CPU and garbage on every call; the tests wait for a `PerformanceObserver` entry (20 s test timeout)',
    tests: [{ file: 'resource-timing.js', test: /./ }],
  },
  {
    title:
      "a relative URL resolves under `baseUrl`, not against undici's global origin (by design)",
    note: 'with no global origin fetch rejects `/relative/path` with a TypeError; client.fetch sends it under its base URL (the subtests are not reached)',
    tests: [{ file: 'relative-url.js', test: /^fetch( > |$)/ }],
  },
  {
    title:
      'a URL outside the base URL (`ftp:`) is a CrossOriginError, not a TypeError (guarantee 8, by design)',
    note: "`fetch()` with no URL is fetch's TypeError; `fetch('ftp://unsupported')` is refused before fetch's own check",
    tests: [{ file: 'client-fetch.js', test: 'args validation' }],
  },
  {
    title: "a `Headers` object's header names go out lower-case",
    note: 'fetch reads their spelling from the Headers object’s private state; an object or pairs keep theirs (the test also sends a Headers and a Request)',
    tests: [{ file: 'headers-case.js', test: 'Headers retain keys case-sensitive' }],
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

// A node:test reporter for run.ts: one JSON line per finished test, with its full name
// (`parent > child`). node:test reports a test after its subtests, so the results at one
// nesting level wait for their parent to be named. Once every top-level test has been
// reported (swap.mjs counts them), a `{"done":true}` line says so: a file whose tests leave
// handles open would not exit.
const topLevel = Symbol.for('tokenfetch.fetch-suite.topLevel');

export default async function* reporter(source) {
  /** Finished tests by nesting level, not yet given their parent's name. */
  const pending = [];
  let reported = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, skip, todo, details } = event.data;
    const children = pending[nesting + 1] ?? [];
    pending[nesting + 1] = [];
    const own = {
      name,
      passed: event.type === 'test:pass',
      skipped: skip !== undefined || todo !== undefined,
      error: event.type === 'test:fail' ? describeError(details?.error) : undefined,
    };
    const done = [own, ...children.map((child) => ({ ...child, name: `${name} > ${child.name}` }))];
    if (nesting === 0) {
      for (const result of done) yield JSON.stringify(result) + '\n';
      if (++reported === globalThis[topLevel]) yield '{"done":true}\n';
    } else {
      (pending[nesting] ??= []).push(...done);
    }
  }
}

function describeError(error) {
  if (error === undefined || error === null) return undefined;
  // node:test wraps a test's failure: the test's own error is the cause.
  const cause = error.failureType === 'testCodeFailure' && error.cause ? error.cause : error;
  const text = `${cause?.name ?? 'Error'}: ${cause?.message ?? String(cause)}`;
  const code = cause?.code === undefined ? '' : ` [${cause.code}]`;
  return (text + code).replace(/\s+/g, ' ').slice(0, 300);
}

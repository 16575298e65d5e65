// Preloaded (`node --import`) into each of undici's test files by run.ts: swaps the
// `fetch` the tests call, and records which tests call it. Nothing in undici's files is
// edited. Configured by the environment:
//   FETCH_SUITE_MODE     node | tokenfetch | tokenfetch-dispatcher
//   FETCH_SUITE_UNDICI   the undici checkout whose tests run
//   FETCH_SUITE_CALLS    a file: one line per test that called fetch (appended at exit)
//   FETCH_SUITE_CORE     the URL of @tokenfetch/core's built entry (tokenfetch modes)
//
// What each mode puts where the tests call `fetch` (undici's exported `fetch`, the same in
// `index-fetch.js`, and `globalThis.fetch`):
//   node        Node's own global `fetch` (Node 20: its bundled undici 6).
//   tokenfetch  `client.fetch` as a user gets it: one `createApiClient()` per origin the
//               tests call, `baseUrl` that origin, an API key (`apiKeyAuth`, a dummy key
//               sent as `x-api-key`), `allowInsecureHttp` for a plain-http origin (the
//               suite calls `http://invalid`), every other option at its default. A relative URL
//               resolves against undici's global origin when one is set, as fetch does.
//   tokenfetch-dispatcher
//               the same, except that a call's `init.dispatcher` becomes the client's
//               `dispatcher` option (one client per origin and dispatcher): what a user
//               who wanted that dispatcher had to do before client.fetch took it in init.
// In every mode `Request`, `Response`, `Headers` and `FormData` of undici's exports are
// Node's globals, the classes a user's code has: the subject is `fetch`, and Node's fetch
// does not take undici 7's `Request` as a `Request`.
/* global Request */
import { appendFileSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import Module, { createRequire } from 'node:module';
import path from 'node:path';

const mode = process.env.FETCH_SUITE_MODE ?? 'node';
const undiciDir = process.env.FETCH_SUITE_UNDICI;
const callsFile = process.env.FETCH_SUITE_CALLS;
if (undiciDir === undefined) throw new Error('FETCH_SUITE_UNDICI is not set');

const nodeFetch = globalThis.fetch;
const current = new AsyncLocalStorage();
/** Full names (`parent > child`) of the tests that called fetch. */
const callers = new Set();

// --- which test is running: node:test's runners wrapped, each test run in a named context

/** A test that hangs fails after this long, and the file goes on. */
const testTimeoutMs = Number(process.env.FETCH_SUITE_TEST_TIMEOUT_MS ?? 20_000);
/** How many top-level tests the file has: reporter.mjs knows from it when the file is done. */
const topLevel = Symbol.for('tokenfetch.fetch-suite.topLevel');
globalThis[topLevel] = 0;

function testArgs(args, parent, suite = false) {
  // test([name][, options][, fn])
  let [name, options, fn] = args;
  if (typeof name === 'function') [name, options, fn] = [undefined, undefined, name];
  else if (typeof name === 'object' && name !== null)
    [name, options, fn] = [undefined, name, options];
  else if (typeof options === 'function') [options, fn] = [undefined, options];
  if (parent === undefined) globalThis[topLevel]++;
  if (!suite && options?.timeout === undefined) options = { ...options, timeout: testTimeoutMs };
  const title = name ?? fn?.name ?? '<anonymous>';
  const full = parent === undefined ? [title] : [...parent, title];
  const run =
    typeof fn === 'function'
      ? function (...fnArgs) {
          const context = fnArgs[0];
          if (context !== null && typeof context === 'object') patchContext(context);
          return current.run(full, () => fn.apply(this, fnArgs));
        }
      : fn;
  // node:test reads the function's arity (a `done` callback): keep it.
  if (typeof fn === 'function') Object.defineProperty(run, 'length', { value: fn.length });
  const out = [];
  if (name !== undefined) out.push(name);
  if (options !== undefined) out.push(options);
  if (run !== undefined) out.push(run);
  return out;
}

function wrapRunner(original, suite) {
  const wrapped = function (...args) {
    return original.apply(this, testArgs(args, current.getStore(), suite));
  };
  for (const variant of ['skip', 'todo', 'only']) {
    if (typeof original[variant] === 'function') {
      wrapped[variant] = (...args) =>
        original[variant](...testArgs(args, current.getStore(), suite));
    }
  }
  return wrapped;
}

let contextPatched = false;
function patchContext(context) {
  if (contextPatched) return;
  contextPatched = true;
  const proto = Object.getPrototypeOf(context);
  const original = proto.test;
  if (typeof original !== 'function') return;
  proto.test = function (...args) {
    return original.apply(this, testArgs(args, current.getStore()));
  };
}

let wrappedTestModule;
function wrapTestModule(testModule) {
  if (wrappedTestModule !== undefined) return wrappedTestModule;
  const wrapped = wrapRunner(testModule, false);
  for (const key of Object.keys(testModule)) wrapped[key] = testModule[key];
  for (const key of ['test', 'it', 'describe', 'suite']) {
    if (typeof testModule[key] === 'function') {
      wrapped[key] = wrapRunner(testModule[key], key === 'describe' || key === 'suite');
    }
  }
  wrappedTestModule = wrapped;
  return wrapped;
}

const load = Module._load;
Module._load = function (request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  return request === 'node:test' || request === 'test' ? wrapTestModule(loaded) : loaded;
};

function recorded(fetchImpl) {
  const fetch = function (...args) {
    const test = current.getStore()?.join(' > ');
    // Written at once: a file whose tests leave handles open is killed once they are done.
    if (test !== undefined && !callers.has(test)) {
      callers.add(test);
      if (callsFile !== undefined) appendFileSync(callsFile, JSON.stringify(test) + '\n');
    }
    return fetchImpl(...args);
  };
  // A user's `fetch` is looked at too (`fetch.name`, `fetch.length`): show the real one's.
  Object.defineProperty(fetch, 'name', { value: fetchImpl.name });
  Object.defineProperty(fetch, 'length', { value: fetchImpl.length });
  return fetch;
}

// --- the fetch of each mode

async function tokenfetchFetch() {
  const core = await import(process.env.FETCH_SUITE_CORE ?? '@tokenfetch/core');
  const undiciRequire = createRequire(path.join(undiciDir, 'index.js'));
  const { getGlobalOrigin } = undiciRequire('./index.js');
  const mapDispatcher = mode === 'tokenfetch-dispatcher';
  const clients = new Map();
  const dispatcherIds = new WeakMap();
  let nextDispatcherId = 1;

  function clientFor(baseUrl, dispatcher) {
    let id = 0;
    if (mapDispatcher && dispatcher != null && typeof dispatcher === 'object') {
      id = dispatcherIds.get(dispatcher) ?? nextDispatcherId++;
      dispatcherIds.set(dispatcher, id);
    }
    const key = `${id} ${baseUrl}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = core.createApiClient({
        baseUrl,
        auth: { apiKey: 'fetch-suite-dummy-key' },
        // What a user of a plain-http upstream that is not on loopback has to set.
        allowInsecureHttp: baseUrl.startsWith('http:'),
        ...(id === 0 ? {} : { dispatcher }),
      });
      clients.set(key, client);
    }
    return client;
  }

  /** The origin a user would have made the client for; a URL fetch cannot parse gets a stand-in. */
  function baseOf(input) {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    try {
      const url = new URL(String(href), getGlobalOrigin());
      if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    } catch {
      // fetch's own error, or tokenfetch's, comes from the call below
    }
    return 'http://127.0.0.1:9';
  }

  // The function a user passes on is `client.fetch` itself: its name and arity are shown.
  const template = clientFor('http://127.0.0.1:9', undefined).fetch;
  const fetch = function (input, init) {
    let client;
    try {
      client = clientFor(baseOf(input), init?.dispatcher);
    } catch (error) {
      return Promise.reject(error);
    }
    return arguments.length < 2 ? client.fetch(input) : client.fetch(input, init);
  };
  Object.defineProperty(fetch, 'name', { value: template.name });
  Object.defineProperty(fetch, 'length', { value: template.length });
  return fetch;
}

const chosen = recorded(mode === 'node' ? nodeFetch : await tokenfetchFetch());

const requireUndici = createRequire(path.join(undiciDir, 'index.js'));
for (const entry of ['./index.js', './index-fetch.js']) {
  const exports = requireUndici(entry);
  exports.fetch = chosen;
  exports.Request = globalThis.Request;
  exports.Response = globalThis.Response;
  exports.Headers = globalThis.Headers;
  exports.FormData = globalThis.FormData;
}
globalThis.fetch = chosen;

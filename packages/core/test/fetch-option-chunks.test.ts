import { expect, it } from 'vitest';
import { createApiClient } from '../src/index.js';
import { startRecorder, track } from './helpers.js';

// With the `fetch` option, an answer's body is read through a byte stream, which takes each
// chunk's ArrayBuffer over (detaches it). A fetch whose chunks are small Buffers (nock's
// answers are) hands views on Node's shared Buffer pool: taking that over detached the
// pool, and the process's next small Buffer allocation threw. The chunk here is a view on
// a larger buffer of the test's own, so that a regression fails this test, not the runner.
it('a body chunk that is a view on a larger buffer is copied, not taken over', async () => {
  const upstream = await startRecorder(() => ({ body: 'pooled answer' }));
  const shared = new ArrayBuffer(64);
  const view = new Uint8Array(shared, 8, 13);
  const client = track(
    createApiClient({
      baseUrl: upstream.origin,
      auth: { apiKey: 'chunks-key' },
      fetch: async (input, init) => {
        const answer = await globalThis.fetch(input, init);
        view.set(new TextEncoder().encode(await answer.text()));
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(view);
            controller.close();
          },
        });
        return new Response(body, { status: answer.status, headers: answer.headers });
      },
    }),
  );

  expect(await (await client.fetch('/x')).text()).toBe('pooled answer');
  expect(shared.byteLength).toBe(64);
  expect(view.byteLength).toBe(13);
});

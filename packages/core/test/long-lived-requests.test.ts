import { describe, expect, it } from 'vitest';
import { AbortGroup } from '../src/shared/abort.js';
import { groupedFetchOf } from '../src/client/grouped-fetch.js';
import { clientFor, startMock, startRecorder } from './helpers.js';

// An adapter's downstream request has one AbortGroup for all its upstream calls. A request
// that lives long (a stream polling the upstream every second) must not keep a listener
// per call it ever made.
describe('a long-lived request does not grow with its calls (guarantee 11)', () => {
  for (const path of ['undici', 'fetch option'] as const) {
    it(`${path}: 10,000 calls within one request leave its abort group empty once they settle`, async () => {
      const mock = await startMock();
      const client = clientFor(mock, path === 'fetch option' ? { fetch } : {});
      const grouped = groupedFetchOf(client)!;
      const group = new AbortGroup();

      for (let batch = 0; batch < 100; batch++) {
        const responses = await Promise.all(
          Array.from({ length: 100 }, (_, i) => grouped(`/data/${i}`, undefined, group)),
        );
        expect(responses.every((response) => response.status === 200)).toBe(true);
        await Promise.all(responses.map((response) => response.arrayBuffer()));
      }

      expect(mock.stats.calls).toBe(10_000);
      expect(group.listenerCount).toBe(0);
    });

    it(`${path}: calls that fail before their answer leave the group too`, async () => {
      const hanging = await startRecorder(() => 'hang');
      const client = clientFor(
        { baseUrl: `${hanging.origin}/api` },
        { auth: { apiKey: 'k' }, timeoutMs: 50, ...(path === 'fetch option' ? { fetch } : {}) },
      );
      const grouped = groupedFetchOf(client)!;
      const group = new AbortGroup();

      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => grouped('/slow', undefined, group)),
      );

      expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
      expect(group.listenerCount).toBe(0);
    });
  }
});

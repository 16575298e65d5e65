// durableObjectStore's options are checked when it is made (at module scope, where the app
// makes its middleware): a missing binding or a bad option is one ConfigError, at start-up.
import { ConfigError } from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { durableObjectStore } from '../src/durable-object-store.js';

const namespace = { idFromName: (name: string) => name, get: () => ({}) };

describe('durableObjectStore options', () => {
  it('needs the binding: an undefined one (not in the wrangler config) is a ConfigError naming it', () => {
    const error = (() => {
      try {
        durableObjectStore(undefined as never);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({ path: 'namespace' }) as unknown,
    ]);
  });

  it('lists every bad option in one ConfigError', () => {
    expect(() =>
      durableObjectStore(namespace, {
        lockTtlMs: 5,
        timeoutMs: 1.5,
        now: 'later' as never,
        prefix: 'x',
      } as never),
    ).toThrow(
      expect.objectContaining({
        issues: [
          { path: 'prefix', message: 'unknown option' },
          { path: 'lockTtlMs', message: 'must be an integer from 100 to 3600000 (milliseconds)' },
          { path: 'timeoutMs', message: 'must be an integer from 1 to 60000 (milliseconds)' },
          { path: 'now', message: 'must be a function' },
        ],
      }) as Error,
    );
  });

  it('calls nothing when it is made: the Durable Object is asked at the first miss', () => {
    let calls = 0;
    const counted = {
      idFromName: (name: string) => (calls++, name),
      get: () => (calls++, {}),
    };
    durableObjectStore(counted);
    expect(calls).toBe(0);
  });
});

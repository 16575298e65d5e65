// Shared by the adversarial suites (properties, hostile-login, hostile-input, secrets).
import { afterEach, expect } from 'vitest';
import { startRecorder, track, type Recorder } from './helpers.js';

export {
  rejectionOf,
  type RecordedRequest as Recorded,
  type Recorder as RecordingServer,
} from './helpers.js';

/** Closes `thing` after the current test. */
export const closeAfterTest = track;

/** A recording server answering `200 recorded`: what reaches it is what leaked. */
export function startRecordingServer(): Promise<Recorder> {
  return startRecorder(() => ({ body: 'recorded' }));
}

const checks: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const check of checks.splice(0)) await check();
});

/**
 * Fails the current test if any promise rejection goes unhandled while it runs (checked
 * after the test, once pending I/O callbacks have had a turn).
 */
export function failOnUnhandledRejection(): void {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  checks.push(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    process.off('unhandledRejection', listener);
    expect(reasons, 'unhandled rejections').toEqual([]);
  });
}

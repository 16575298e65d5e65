// Attack finding (issue 20, item 4): `client.as({ orgId })` with org ids a caller chooses.
// The bound (1,000 org clients) caps the heap, and a refused password (401) cools every org
// down; but an org the user is not in (404, NoActiveOrgError) cools down that org alone, so
// per-request org ids from a hostile caller still make one login with the service password
// per distinct id: a login storm an upstream that rate-limits or locks accounts sees. Fails
// until the family bounds logins for orgs it has never seen work.
import { expect, it } from 'vitest';
import { NoActiveOrgError } from '../src/index.js';
import { clientFor, rejectionOf, startMock } from './helpers.js';

it('200 unknown org ids in a burst make a bounded number of logins, not 200', async () => {
  const mock = await startMock();
  const client = clientFor(mock);
  expect((await client.fetch('/user/users/me')).status).toBe(200);
  const before = mock.stats.loginAttempts;
  for (let org = 1_000; org < 1_200; org++) {
    expect(await rejectionOf(client.as({ orgId: org }).fetch('/user/users/me'))).toBeInstanceOf(
      NoActiveOrgError,
    );
  }
  expect(mock.stats.loginAttempts - before).toBeLessThanOrEqual(20);
});

import type { MockUser } from './options.js';

/**
 * The user every mock upstream knows unless `users` is given.
 *
 * @example
 * ```ts
 * const { email, password, orgs } = DEMO_USER;
 * createApiClient({ baseUrl, auth: { email, password, orgId: orgs[0]! } });
 * ```
 */
export const DEMO_USER: MockUser = Object.freeze({
  email: 'demo@example.com',
  password: 'demo-password',
  orgs: Object.freeze([1]),
  id: 1,
  firstName: 'Demo',
  lastName: 'User',
});

/** The API key every mock upstream accepts unless `apiKeys` is given. */
export const DEMO_API_KEY = 'demo-api-key';

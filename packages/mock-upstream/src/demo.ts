import type { MockUser } from './options.js';

/**
 * The user every mock upstream knows unless `users` is given.
 *
 * @example
 * ```ts
 * const { email, password, orgs } = demoUser;
 * createApiClient({ baseUrl, auth: { email, password, orgId: orgs[0]! } });
 * ```
 */
export const demoUser: MockUser = Object.freeze({
  email: 'demo@example.com',
  password: 'demo-password',
  orgs: Object.freeze([1]),
  id: 1,
  firstName: 'Demo',
  lastName: 'User',
});

/** The API key every mock upstream accepts unless `apiKeys` is given. */
export const demoApiKey = 'demo-api-key';

/** @deprecated Use {@link demoUser}: the same object under the project's constant style. */
export const DEMO_USER: MockUser = demoUser;

/** @deprecated Use {@link demoApiKey}: the same value under the project's constant style. */
export const DEMO_API_KEY = demoApiKey;

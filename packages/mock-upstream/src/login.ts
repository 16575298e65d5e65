import type { ResolvedUser } from './options.js';

/** How the built-in login handler answers a login body. */
export type LoginOutcome =
  | { status: 400 | 401 | 404; error: string }
  | { status: 200; user: ResolvedUser; orgId: string | number };

/**
 * Checks a `POST /user/authenticate` body `{ email, password, selectedOrg }` against the
 * users, in the upstream's order: malformed → 400, wrong email or password → 401,
 * no active org or `selectedOrg` not one of the user's orgs → 404.
 */
export function checkLogin(bodyText: string, users: readonly ResolvedUser[]): LoginOutcome {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { status: 400, error: 'request body must be JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { status: 400, error: 'request body must be a JSON object' };
  }
  const { email, password, selectedOrg } = body as Record<string, unknown>;
  if (typeof email !== 'string') return { status: 400, error: 'email must be a string' };
  if (typeof password !== 'string') return { status: 400, error: 'password must be a string' };
  if (
    typeof selectedOrg !== 'string' &&
    !(typeof selectedOrg === 'number' && Number.isFinite(selectedOrg))
  ) {
    return { status: 400, error: 'selectedOrg must be a string or a number' };
  }
  const user = users.find((candidate) => candidate.email === email);
  if (user === undefined || user.password !== password) {
    return { status: 401, error: 'invalid email or password' };
  }
  if (user.orgs.length === 0) {
    return { status: 404, error: 'user is not an active member of any organisation' };
  }
  const orgId = user.orgs.find((org) => String(org) === String(selectedOrg));
  if (orgId === undefined) {
    return { status: 404, error: 'user is not an active member of the selected organisation' };
  }
  return { status: 200, user, orgId };
}

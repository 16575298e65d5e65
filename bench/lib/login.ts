import type { Credentials } from '../contenders/contender.js';

/** The login every contender makes: POST {base}/user/authenticate. */
export async function login(
  baseUrl: string,
  credentials: Credentials,
): Promise<{ token: string; expiresInMs: number | undefined }> {
  const response = await fetch(`${baseUrl}/user/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: credentials.email,
      password: credentials.password,
      selectedOrg: credentials.orgId,
    }),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`login answered ${response.status}`);
  }
  const body = (await response.json()) as { token: string; expiresIn?: number };
  return {
    token: body.token,
    expiresInMs: typeof body.expiresIn === 'number' ? body.expiresIn * 1000 : undefined,
  };
}

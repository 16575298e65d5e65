// An ESM JavaScript app using the packed tarballs: one real authenticated call.
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { createApiClient, isTokenFetchError } from '@tokenfetch/core';
import { authMiddleware } from '@tokenfetch/express';

const upstream = await startMockUpstream();
const client = createApiClient({
  baseUrl: upstream.baseUrl,
  auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
});
const me = await client.json('/user/users/me');
if (me.email !== DEMO_USER.email) throw new Error(`unexpected answer: ${JSON.stringify(me)}`);
if (typeof authMiddleware({ client }) !== 'function') throw new Error('no middleware');
if (isTokenFetchError(new Error('x'))) throw new Error('isTokenFetchError is wrong');
await client.close();
await upstream.close();
console.log('esm consumer: ok', me.email);

// A TypeScript app, type-checked against the packed .d.ts, then run.
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import { createApiClient, type ApiClient } from '@tokenfetch/core';
import { authMiddleware } from '@tokenfetch/express';
import express from 'express';

interface Me {
  email: string;
  currentOrg: { id: number };
}

const upstream = await startMockUpstream();
const client: ApiClient = createApiClient({
  baseUrl: upstream.baseUrl,
  auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
});
const app = express();
app.use(authMiddleware({ client }));
app.get('/me', async (req, res) => {
  const answer = await req.apiFetch('/user/users/me');
  res.json((await answer.json()) as Me);
});
const me = await client.json<Me>('/user/users/me');
if (me.email !== DEMO_USER.email) throw new Error('unexpected answer');
await client.close();
await upstream.close();
console.log('ts consumer: ok', me.email, me.currentOrg.id);

// One service, many identities: the three shapes of "Many tenants" in the README, against
// two mock upstreams started in-process (two customers, each on its own server).
//   /customers/:customer/me   a pool, one client per customer (its own server and account)
//   /orgs/:org/me             one user acting in the request's org (client.as({ orgId }))
//   /as/:user/me              one API key acting as the request's user (impersonate-user-id)
import {
  createApiClient,
  createClientPool,
  type ApiClientOptions,
  type TenantOptions,
} from '@tokenfetch/core';
import { authMiddleware, problemDetails } from '@tokenfetch/express';
import { startMockUpstream } from '@tokenfetch/mock-upstream';
import express, { type Request, type Response } from 'express';

const port = Number(process.env.PORT || 3000);
const acme = await startMockUpstream({
  users: [
    { email: 'svc@acme.test', password: 'acme-password', orgs: [42, 43], id: 7 },
    { email: 'ada@acme.test', password: 'ada-password', orgs: [42], id: 8 },
  ],
  apiKeys: [{ key: 'acme-api-key', orgId: 42 }],
});
const globex = await startMockUpstream({
  users: [{ email: 'svc@globex.test', password: 'globex-password', orgs: [9], id: 3 }],
});

const acmeService: ApiClientOptions = {
  baseUrl: acme.baseUrl,
  auth: { email: 'svc@acme.test', password: 'acme-password', orgId: 42 },
};
// In a real service: a database or a vault, looked up once per customer.
const customers: Record<string, TenantOptions> = {
  acme: acmeService,
  globex: {
    baseUrl: globex.baseUrl,
    auth: { email: 'svc@globex.test', password: 'globex-password', orgId: 9 },
  },
};
const pool = createClientPool({
  resolve: (customer) => {
    const options = customers[customer];
    if (options === undefined) throw new Error('unknown customer');
    return options;
  },
  maxClients: 1000,
});

async function relay(res: Response, upstream: globalThis.Response): Promise<void> {
  res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'application/json');
  res.send(Buffer.from(await upstream.arrayBuffer()));
}
const me = async (req: Request, res: Response) => relay(res, await req.apiFetch('/user/users/me'));

const app = express();
app.use(
  '/customers/:customer',
  authMiddleware({ pool, tenant: (req) => String(req.params.customer) }),
);
app.get('/customers/:customer/me', me);
app.use(
  '/orgs/:org',
  authMiddleware({ ...acmeService, as: (req) => ({ orgId: Number(req.params.org) }) }),
);
app.get('/orgs/:org/me', me);
app.use(
  '/as/:user',
  authMiddleware({
    client: createApiClient({ baseUrl: acme.baseUrl, auth: { apiKey: 'acme-api-key' } }),
    as: (req) => ({ impersonateUserId: String(req.params.user) }),
  }),
);
app.get('/as/:user/me', me);
app.use(problemDetails());

const server = app.listen(port, () => {
  console.log(`tokenfetch multi-tenant example on http://localhost:${port}`);
  console.log(`  try: curl localhost:${port}/customers/acme/me      (acme's server)`);
  console.log(`       curl localhost:${port}/customers/globex/me    (globex's server)`);
  console.log(`       curl localhost:${port}/orgs/43/me             (the acme user in org 43)`);
  console.log(
    `       curl localhost:${port}/as/8/me                (the API key acting as user 8)`,
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void pool.close();
    void acme.close();
    void globex.close();
  });
}

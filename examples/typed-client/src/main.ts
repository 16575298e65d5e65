// A typed client: types generated from the mock upstream's OpenAPI document
// (`pnpm --filter ./examples/typed-client run generate`), calls made with openapi-fetch
// through tokenfetch's fetch. With API_* set it talks to that API; with none it starts the
// mock upstream in-process, so `pnpm --filter ./examples/typed-client start` works anywhere.
import { loadOptionsFromEnv, type ApiClientOptions } from '@tokenfetch/core';
import { demoUser, startMockUpstream } from '@tokenfetch/mock-upstream';
import { createTypedApi } from './typed-api.js';

const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
const options: ApiClientOptions = mock
  ? {
      baseUrl: mock.baseUrl,
      auth: { email: demoUser.email, password: demoUser.password, orgId: demoUser.orgs[0] ?? 1 },
    }
  : loadOptionsFromEnv();
const { api, client } = createTypedApi(options);

try {
  const me = await api.GET('/user/users/me');
  if (me.error) throw new Error(`GET /user/users/me answered ${me.response.status}`);
  console.log(`acting as ${me.data.email} in org ${me.data.currentOrg.id}`);

  // The widget routes are the mock's own; a real API has its own document to generate from.
  if (mock) {
    const created = await api.POST('/widgets', { body: { name: 'bolt', color: 'red' } });
    if (created.error) throw new Error(`POST /widgets: ${created.error.error}`);
    const read = await api.GET('/widgets/{id}', { params: { path: { id: created.data.id } } });
    if (read.error) throw new Error(`GET /widgets/{id}: ${read.error.error}`);
    console.log(`created widget ${read.data.id}: ${read.data.quantity} × ${read.data.name}`);
  }
} finally {
  await client.close();
  await mock?.close();
}

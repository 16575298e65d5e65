// A small NestJS service in front of the upstream API. With API_* set it talks to that API;
// with none it starts the mock upstream in-process, so `pnpm start` works on a fresh clone.
// Dependencies are injected by explicit tokens (@Inject(…), @InjectApiClient()), so the app
// runs under tsx/esbuild, which emits no decorator metadata.
import { Controller, Get, Inject, Injectable, Module, Param, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadOptionsFromEnv, type ApiClientOptions } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream } from '@tokenfetch/mock-upstream';
import {
  ApiFetchParam,
  InjectApiClient,
  TokenfetchModule,
  type ApiClient,
  type ApiFetch,
} from '@tokenfetch/nestjs';
import type { Response } from 'express';

const port = Number(process.env.PORT || 3000);
const configured = Object.keys(process.env).some((name) => name.startsWith('API_'));
const mock = configured ? undefined : await startMockUpstream();
const options: ApiClientOptions = mock
  ? {
      baseUrl: mock.baseUrl,
      auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: DEMO_USER.orgs[0] ?? 1 },
    }
  : loadOptionsFromEnv();

/** A singleton service with the application's client: no request in sight. */
@Injectable()
class ObjectsService {
  constructor(@InjectApiClient() private readonly api: ApiClient) {}

  get(id: string): Promise<unknown> {
    return this.api.json(`/data/object/${encodeURIComponent(id)}`);
  }
}

@Controller()
class AppController {
  constructor(@Inject(ObjectsService) private readonly objects: ObjectsService) {}

  /** The request's apiFetch: aborted if the client hangs up. Relays status, type and body. */
  @Get('me')
  async me(@ApiFetchParam() apiFetch: ApiFetch, @Res() res: Response): Promise<void> {
    const upstream = await apiFetch('/user/users/me');
    res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'application/json');
    res.send(Buffer.from(await upstream.arrayBuffer()));
  }

  @Get('objects/:id')
  object(@Param('id') id: string): Promise<unknown> {
    return this.objects.get(id);
  }
}

@Module({
  imports: [TokenfetchModule.forRoot(options)], // forRoot() alone reads API_* itself
  controllers: [AppController],
  providers: [ObjectsService],
})
class AppModule {}

const app = await NestFactory.create<NestExpressApplication>(AppModule, {
  logger: ['error', 'warn'],
});
app.enableShutdownHooks(); // SIGINT/SIGTERM close the app, and with it the module's client
await app.listen(port);
const url = await app.getUrl();
const where = mock ? `the mock upstream at ${mock.baseUrl}` : options.baseUrl;
console.log(`tokenfetch NestJS example on ${url}, calling ${where}`);
console.log(`  try: curl ${url}/me`);
console.log(`       curl ${url}/objects/42`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void mock?.close());
}

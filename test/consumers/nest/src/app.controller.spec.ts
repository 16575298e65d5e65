import { Test, type TestingModule } from '@nestjs/testing';
import { InvalidCredentialsError, isTokenFetchError } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import { TokenfetchModule } from '@tokenfetch/nestjs';
import { AppController } from './app.controller';
import { AppService } from './app.service';

describe('AppController', () => {
  let upstream: MockUpstream;
  let app: TestingModule;

  beforeAll(async () => {
    upstream = await startMockUpstream();
  });
  afterAll(async () => {
    await upstream.close();
  });
  afterEach(async () => {
    await app.close();
  });

  async function compile(password: string): Promise<AppController> {
    app = await Test.createTestingModule({
      imports: [
        TokenfetchModule.forRoot({
          baseUrl: upstream.baseUrl,
          auth: { email: DEMO_USER.email, password, orgId: 1 },
        }),
      ],
      controllers: [AppController],
      providers: [AppService],
    }).compile();
    return app.get<AppController>(AppController);
  }

  it('returns the user the API says is logged in', async () => {
    const appController = await compile(DEMO_USER.password);
    expect(await appController.me()).toMatchObject({ email: DEMO_USER.email });
    expect(upstream.stats.successfulLogins).toBe(1);
  });

  it('rejects with InvalidCredentialsError when the login is refused', async () => {
    const appController = await compile('not-the-password');
    const failure: unknown = await appController.me().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidCredentialsError);
    expect(isTokenFetchError(failure)).toBe(true);
    expect(String(failure)).not.toContain('not-the-password');
  });
});

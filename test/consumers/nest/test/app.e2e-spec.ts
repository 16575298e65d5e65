import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import request from 'supertest';
import type { App } from 'supertest/types';
import { AppModule } from './../src/app.module';

describe('AppController (e2e)', () => {
  let upstream: MockUpstream;
  let app: INestApplication<App>;

  beforeAll(async () => {
    upstream = await startMockUpstream();
    // TokenfetchModule.forRoot() reads these at init.
    process.env.API_BASE_URL = upstream.baseUrl;
    process.env.API_EMAIL = DEMO_USER.email;
    process.env.API_PASSWORD = DEMO_USER.password;
    process.env.API_ORG_ID = '1';
  });

  beforeEach(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    await app.init();
  });

  it('/me (GET) calls the API with a session token', () => {
    return request(app.getHttpServer())
      .get('/me')
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ email: DEMO_USER.email }));
  });

  it('/widgets (GET) calls the API through the request apiFetch', async () => {
    await request(app.getHttpServer())
      .get('/widgets')
      .expect(200)
      .expect((res) => expect(res.body).toHaveProperty('widgets'));
    expect(upstream.stats.successfulLogins).toBeGreaterThanOrEqual(1);
  });

  it('a refused login is answered as problem+json 502', async () => {
    process.env.API_PASSWORD = 'not-the-password';
    const refused = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const other = refused.createNestApplication();
    await other.init();
    try {
      const res = await request(other.getHttpServer()).get('/me').expect(502);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain('not-the-password');
    } finally {
      process.env.API_PASSWORD = DEMO_USER.password;
      await other.close();
    }
  });

  afterEach(async () => {
    await app.close();
  });

  afterAll(async () => {
    await upstream.close();
  });
});

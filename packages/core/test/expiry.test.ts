import { describe, expect, it } from 'vitest';
import type { MockLoginRequest } from '@tokenfetch/mock-upstream';
import { createTokenManager, LoginFailedError, sessionTokenAuth } from '../src/index.js';
import {
  clientFor,
  collectEvents,
  createClock,
  demoAuth,
  makeJwt,
  rejectionOf,
  startMock,
  T0,
} from './helpers.js';

/** Login answer fields; `jwtExpSeconds` wraps the token in a JWT with that `exp`. */
interface Answer {
  expiresIn?: number;
  expiresAt?: string | number;
  jwtExpSeconds?: number;
}

describe('expiry = send time + the smallest lifetime (guarantee 3)', () => {
  const cases: Array<[name: string, answer: Answer, ttlMs: number, lifetime: number]> = [
    ['the strategy ttlMs', { expiresIn: 600, expiresAt: T0 + 700_000 }, 300_000, 300_000],
    ['an expiresIn of the response', { expiresIn: 240, expiresAt: T0 + 700_000 }, 900_000, 240_000],
    [
      'an ISO expiresAt of the response',
      { expiresIn: 600, expiresAt: new Date(T0 + 180_000).toISOString() },
      900_000,
      180_000,
    ],
    [
      'an epoch-seconds expiresAt of the response',
      { expiresIn: 600, expiresAt: (T0 + 170_000) / 1000 },
      900_000,
      170_000,
    ],
    [
      "a JWT's exp",
      { expiresIn: 600, expiresAt: T0 + 700_000, jwtExpSeconds: (T0 + 120_000) / 1000 },
      900_000,
      120_000,
    ],
  ];

  for (const [name, answer, ttlMs, lifetime] of cases) {
    it(`the lifetime is ${name} when it is the smallest`, async () => {
      const clock = createClock();
      const mock = await startMock({ now: clock.now });
      const { onEvent, ofType } = collectEvents();
      let sent = '';
      mock.setLoginResponse((req) => {
        // The login takes 5 s: the expiry still counts from when it was sent.
        clock.advance(5_000);
        sent = tokenFor(req, answer);
        return { body: JSON.stringify(body(sent, answer)) };
      });
      const client = clientFor(mock, {
        now: clock.now,
        onEvent,
        auth: sessionTokenAuth({ ...demoAuth, ttlMs }),
      });

      expect(await client.getToken()).toBe(sent);
      expect(ofType('login')).toMatchObject([
        { type: 'login', source: 'login', durationMs: 5_000, expiresAt: T0 + lifetime },
      ]);
    });
  }

  it('a token is replaced once the smallest lifetime (a JWT exp) has run out', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    const issued: string[] = [];
    mock.setLoginResponse(() => {
      const token = makeJwt({ exp: clock.now() / 1000 + 60 });
      issued.push(token);
      return { body: JSON.stringify({ token }) };
    });
    const client = clientFor(mock, { now: clock.now });

    expect(await client.getToken()).toBe(issued[0]);
    clock.advance(59_000);
    expect(await client.getToken()).toBe(issued[1]);
    expect(mock.stats.loginAttempts).toBe(2);
  });

  for (const [name, token] of [
    ['a JWT whose payload is not JSON', 'eyJhbGciOiJub25lIn0.bm90LWpzb24.sig'],
    ['a JWT whose payload is not an object', `x.${Buffer.from('42').toString('base64url')}.sig`],
    ['a JWT without exp', makeJwt({ sub: 'demo' })],
    ['a JWT with a string exp', makeJwt({ exp: '1700000060' })],
  ] as const) {
    it(`${name} is trusted for the strategy ttlMs`, async () => {
      const clock = createClock();
      const mock = await startMock({ now: clock.now });
      mock.setLoginResponse(() => ({ body: JSON.stringify({ token }) }));
      const { onEvent, ofType } = collectEvents();
      const client = clientFor(mock, { now: clock.now, onEvent });

      expect(await client.getToken()).toBe(token);
      expect(ofType('login')[0]?.expiresAt).toBe(T0 + 900_000);
    });
  }

  it('an expiresIn announced by the upstream (announceTtl) is used', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now, announceTtl: true, tokenTtlMs: 90_000 });
    const { onEvent, ofType } = collectEvents();
    const client = clientFor(mock, { now: clock.now, onEvent });

    await client.getToken();

    expect(ofType('login')[0]?.expiresAt).toBe(T0 + 90_000);
  });

  it('a login whose answer is already expired is a LoginFailedError', async () => {
    const clock = createClock();
    const mock = await startMock({ now: clock.now });
    mock.setLoginResponse((req) => ({
      body: JSON.stringify({ token: req.issueToken(), expiresAt: T0 - 1_000 }),
    }));
    const client = clientFor(mock, { now: clock.now });

    const error = await rejectionOf(client.getToken());

    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toMatch(/expired/);
    expect(mock.stats.loginAttempts).toBe(1);
  });

  it('the token manager measures the lifetime from when its login was sent', async () => {
    const clock = createClock();
    const manager = createTokenManager({
      now: clock.now,
      ttlMs: 600_000,
      login: () => {
        clock.advance(3_000);
        return Promise.resolve({ token: 'tok', expiresInMs: 60_000 });
      },
    });

    const info = await manager.getTokenInfo();
    manager.close();

    expect(info).toEqual({ token: 'tok', expiresAt: T0 + 60_000 });
  });
});

function tokenFor(req: MockLoginRequest, answer: Answer): string {
  return answer.jwtExpSeconds === undefined
    ? req.issueToken()
    : makeJwt({ sub: 'demo', exp: answer.jwtExpSeconds });
}

function body(token: string, answer: Answer): Record<string, unknown> {
  return { token, expiresIn: answer.expiresIn, expiresAt: answer.expiresAt };
}

// revokeOnClose is the user's logout: options with which it could never revoke (no
// revocation URL beside a token URL, or one on another origin, where the confined fetch
// refuses to go) are a ConfigError at creation, not a close() that silently revokes nothing.
import { ConfigError } from '@tokenfetch/core';
import { describe, expect, it } from 'vitest';
import { refreshToken } from '../src/index.js';

const base = {
  tokenUrl: 'https://auth.example.com/oauth2/token',
  clientId: 'web',
  refreshToken: 'rt-user-1',
  revokeOnClose: true,
} as const;

function refusal(make: () => unknown): ConfigError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('revokeOnClose with a token URL', () => {
  it('needs a revocation URL', () => {
    expect(refusal(() => refreshToken(base)).message).toContain('auth.revocationUrl');
  });

  it('on the token endpoint’s origin', () => {
    const error = refusal(() =>
      refreshToken({ ...base, revocationUrl: 'https://revoke.example.com/oauth2/revoke' }),
    );
    expect(error.message).toContain('auth.revocationUrl');
    expect(error.message).not.toContain('rt-user-1');
  });

  it('is taken with a revocation URL on that origin, and without revokeOnClose', () => {
    expect(() =>
      refreshToken({ ...base, revocationUrl: 'https://auth.example.com/oauth2/revoke' }),
    ).not.toThrow();
    expect(() => refreshToken({ ...base, revokeOnClose: false })).not.toThrow();
  });
});

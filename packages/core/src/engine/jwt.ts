import { base64UrlText } from '../shared/bytes.js';

/** The `exp` of a JWT, in epoch ms, or `undefined` when the token is not a JWT with one. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const text = base64UrlText(parts[1]);
    if (text === undefined) return undefined;
    const payload: unknown = JSON.parse(text);
    if (typeof payload !== 'object' || payload === null) return undefined;
    const exp = (payload as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

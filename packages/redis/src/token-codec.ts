import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import type { StoredToken } from '@tokenfetch/core';
import { parseJsonObject } from './json-object.js';

/** Turns a stored token into the string Redis holds, and back. */
export interface TokenCodec {
  encode(redisKey: string, token: StoredToken): string;
  /** The token, or `undefined` for anything this codec did not write for `redisKey`. */
  decode(redisKey: string, value: string): StoredToken | undefined;
}

const encryptedPrefix = 'enc1';
const ivBytes = 12;
const tagBytes = 16;
const safeToken = /^[\x21-\x7E]+$/;
/** The longest strategy state (`StoredToken.state`, e.g. a sealed refresh token) read back. */
const maxStateLength = 16_384;

/** Plain JSON: readable by anyone who can read Redis. */
export const plainCodec: TokenCodec = {
  encode: (_redisKey, token) => JSON.stringify(token),
  decode: (_redisKey, value) => (value.startsWith('{') ? parseToken(value) : undefined),
};

/**
 * AES-256-GCM with a fresh 12-byte IV per write and the Redis key as additional
 * authenticated data. Stored as `enc1:<key id>:<iv>:<ciphertext + tag>` (base64url).
 * The first key encrypts; any key decrypts what it wrote.
 */
export function encryptingCodec(keys: ReadonlyMap<string, KeyObject>): TokenCodec {
  const first = keys.entries().next();
  if (first.done === true) throw new TypeError('encryptingCodec needs at least one key');
  const [writeId, writeKey] = first.value;
  return {
    encode(redisKey, token) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', writeKey, iv, { authTagLength: tagBytes });
      cipher.setAAD(Buffer.from(redisKey, 'utf8'));
      const sealed = Buffer.concat([
        cipher.update(JSON.stringify(token), 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return [
        encryptedPrefix,
        writeId,
        iv.toString('base64url'),
        sealed.toString('base64url'),
      ].join(':');
    },
    decode(redisKey, value) {
      const [prefix, keyId, ivText, sealedText, ...rest] = value.split(':');
      if (prefix !== encryptedPrefix || rest.length > 0 || keyId === undefined) return undefined;
      const key = keys.get(keyId);
      if (key === undefined || ivText === undefined || sealedText === undefined) return undefined;
      const iv = Buffer.from(ivText, 'base64url');
      const sealed = Buffer.from(sealedText, 'base64url');
      if (iv.length !== ivBytes || sealed.length <= tagBytes) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
        decipher.setAAD(Buffer.from(redisKey, 'utf8'));
        decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
        const plain = Buffer.concat([
          decipher.update(sealed.subarray(0, sealed.length - tagBytes)),
          decipher.final(),
        ]);
        return parseToken(plain.toString('utf8'));
      } catch {
        // Tampered, moved to another key, or written with a different key under this id.
        return undefined;
      }
    },
  };
}

function parseToken(text: string): StoredToken | undefined {
  const data = parseJsonObject(text);
  if (data === undefined) return undefined;
  const { token, issuedAt, expiresAt, generation, state } = data;
  if (typeof token !== 'string' || !safeToken.test(token)) return undefined;
  if (!isTime(issuedAt) || !isTime(expiresAt) || expiresAt <= issuedAt) return undefined;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    return undefined;
  }
  if (state !== undefined && (typeof state !== 'string' || state.length > maxStateLength)) {
    return undefined;
  }
  return typeof state === 'string'
    ? { token, issuedAt, expiresAt, generation, state }
    : { token, issuedAt, expiresAt, generation };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * A refresh token sealed for the store (AES-256-GCM, WebCrypto): the key is derived (HKDF,
 * SHA-256) from the secrets the client was made with — its client secret and its first
 * refresh token — and the strategy's identity, so only a client holding them opens it. A
 * value that does not open is no state (the client's own refresh token is used).
 */
export interface StateSeal {
  seal(text: string): Promise<string>;
  open(sealed: string): Promise<string | undefined>;
}

const version = 'v1';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createStateSeal(secrets: readonly string[], identity: string): StateSeal {
  let key: Promise<CryptoKey> | undefined;
  const derive = async () => {
    const material = await crypto.subtle.importKey(
      'raw',
      encoder.encode(secrets.join('\u0000')),
      'HKDF',
      false,
      ['deriveKey'],
    );
    return crypto.subtle.deriveKey(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: encoder.encode('tokenfetch/oauth2 refresh token'),
        info: encoder.encode(identity),
      },
      material,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
  };
  const keyOf = () => (key ??= derive());
  return {
    async seal(text) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv },
        await keyOf(),
        encoder.encode(text),
      );
      return `${version}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
    },
    async open(value) {
      const [prefix, ivText, sealedText, ...rest] = value.split('.');
      if (prefix !== version || ivText === undefined || sealedText === undefined) return undefined;
      if (rest.length > 0) return undefined;
      try {
        const plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: fromBase64url(ivText) },
          await keyOf(),
          fromBase64url(sealedText),
        );
        return decoder.decode(plain);
      } catch {
        return undefined;
      }
    },
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt,
  type ScryptOptions,
} from 'node:crypto';

/**
 * scrypt's cost: N = 2^14, r = 8, p = 1 (16 MiB of memory, about 50 ms): Node's default and
 * the scrypt paper's setting for interactive logins. Changing it is a new file `version`.
 */
const scryptOptions: ScryptOptions = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const keyLength = 32;
const saltLength = 16;
const ivLength = 12;
const tagLength = 16;

/** Text sealed under a password: AES-256-GCM with a key derived by scrypt. Base64 fields. */
export interface Sealed {
  salt: string;
  iv: string;
  /** The ciphertext followed by the 16-byte GCM tag. */
  data: string;
}

/** Seals and opens text with a key derived from one password. */
export interface PasswordSeal {
  /** Encrypts `text`; `context` is authenticated too (it must be given again to open). */
  seal(text: string, context: string): Promise<Sealed>;
  /**
   * The text, or `undefined` when it was sealed with another password or another context,
   * or altered: GCM's tag does not match, and nothing tells those cases apart.
   */
  open(sealed: Sealed, context: string): Promise<string | undefined>;
}

/**
 * A seal keyed by `password`. This is how the token cache tells "the same credentials":
 * the token is stored sealed under the password that obtained it, so a command with another
 * password cannot open it and logs in. Nothing stored lets anyone recover the password
 * except by guessing it, at scrypt's cost per guess. The key of each salt is derived once.
 */
export function createPasswordSeal(password: string): PasswordSeal {
  const keys = new Map<string, Promise<Buffer>>();
  // One salt for everything this command seals, so one key derivation (a fresh IV each
  // time): the salt of what it opened, else a new one.
  let sealingSalt: string | undefined;

  function keyFor(salt: string): Promise<Buffer> {
    let key = keys.get(salt);
    if (key === undefined) {
      key = new Promise<Buffer>((resolve, reject) => {
        scrypt(password, Buffer.from(salt, 'base64'), keyLength, scryptOptions, (error, derived) =>
          error === null ? resolve(derived) : reject(error),
        );
      });
      keys.set(salt, key);
    }
    return key;
  }

  return {
    async seal(text, context) {
      const iv = randomBytes(ivLength);
      sealingSalt ??= randomBytes(saltLength).toString('base64');
      const salt = sealingSalt;
      const cipher = createCipheriv('aes-256-gcm', await keyFor(salt), iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const data = Buffer.concat([
        cipher.update(text, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return { salt, iv: iv.toString('base64'), data: data.toString('base64') };
    },

    async open(sealed, context) {
      const salt = Buffer.from(sealed.salt, 'base64');
      const iv = Buffer.from(sealed.iv, 'base64');
      const data = Buffer.from(sealed.data, 'base64');
      if (salt.length !== saltLength || iv.length !== ivLength || data.length < tagLength) {
        return undefined;
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', await keyFor(sealed.salt), iv);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(data.subarray(data.length - tagLength));
        const text = Buffer.concat([
          decipher.update(data.subarray(0, data.length - tagLength)),
          decipher.final(),
        ]);
        sealingSalt ??= sealed.salt;
        return text.toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

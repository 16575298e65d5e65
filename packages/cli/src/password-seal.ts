import {
  createCipheriv,
  createDecipheriv,
  createHmac,
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

/** Text sealed under the key of a password and a salt: AES-256-GCM. Base64 fields. */
export interface Sealed {
  iv: string;
  /** The ciphertext followed by the 16-byte GCM tag. */
  data: string;
}

/** What the key of one password and one salt does. */
export interface SaltedKey {
  /** Encrypts `text`; `context` is authenticated too (it must be given again to open). */
  seal(text: string, context: string): Sealed;
  /**
   * The text, or `undefined` when it was sealed under another password, salt or context, or
   * altered: GCM's tag does not match, and nothing tells those cases apart.
   */
  open(sealed: Sealed, context: string): string | undefined;
  /** A name for `text` that only this password and salt give (HMAC-SHA256, hex). */
  name(text: string): string;
}

/** Keys derived from one password. */
export interface PasswordSeal {
  /** A random salt (base64) for what has none yet; the same for the whole command. */
  readonly newSalt: string;
  /** The key of `salt`, derived once; `undefined` when `salt` is not 16 bytes of base64. */
  withSalt(salt: string): Promise<SaltedKey | undefined>;
}

/**
 * Keys derived from `password` by scrypt: 64 bytes per salt, an AES-256-GCM key and an
 * HMAC-SHA256 key. This is how the token cache tells "the same credentials": what it stores
 * is sealed, and named, under the password that obtained it, so a command with another
 * password neither finds nor opens it, and logs in. Nothing stored lets anyone recover the
 * password except by guessing it, at scrypt's cost per guess. The key of each salt is
 * derived once.
 */
export function createPasswordSeal(password: string): PasswordSeal {
  const keys = new Map<string, Promise<SaltedKey>>();

  function derive(salt: Buffer): Promise<SaltedKey> {
    return new Promise((resolve, reject) => {
      scrypt(password, salt, 2 * keyLength, scryptOptions, (error, derived) => {
        if (error !== null) reject(error);
        else resolve(saltedKey(derived.subarray(0, keyLength), derived.subarray(keyLength)));
      });
    });
  }

  return {
    newSalt: randomBytes(saltLength).toString('base64'),

    async withSalt(salt) {
      if (!isSalt(salt)) return undefined;
      let key = keys.get(salt);
      if (key === undefined) {
        key = derive(Buffer.from(salt, 'base64'));
        keys.set(salt, key);
      }
      return key;
    },
  };
}

/** Whether `value` is a salt: 16 bytes, in canonical base64. */
export function isSalt(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    Buffer.from(value, 'base64').length === saltLength &&
    Buffer.from(value, 'base64').toString('base64') === value
  );
}

function saltedKey(cipherKey: Buffer, macKey: Buffer): SaltedKey {
  return {
    seal(text, context) {
      const iv = randomBytes(ivLength);
      const cipher = createCipheriv('aes-256-gcm', cipherKey, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const data = Buffer.concat([
        cipher.update(text, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return { iv: iv.toString('base64'), data: data.toString('base64') };
    },

    open(sealed, context) {
      const iv = Buffer.from(sealed.iv, 'base64');
      const data = Buffer.from(sealed.data, 'base64');
      if (iv.length !== ivLength || data.length < tagLength) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', cipherKey, iv);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(data.subarray(data.length - tagLength));
        const text = Buffer.concat([
          decipher.update(data.subarray(0, data.length - tagLength)),
          decipher.final(),
        ]);
        return text.toString('utf8');
      } catch {
        return undefined;
      }
    },

    name(text) {
      return createHmac('sha256', macKey).update(text, 'utf8').digest('hex');
    },
  };
}

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** What `readOwnFile` found: the text, or why the file may not be trusted. */
export type OwnFile = { text: string; modifiedAt: number } | { refused: string };

// O_NOFOLLOW: a symbolic link is not followed to wherever it points. O_NONBLOCK: opening a
// FIFO does not wait for a writer (for ever); it has no effect on a regular file.
const openFlags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a file of the token cache directory, trusting it only if it is a regular file (not
 * a symbolic link, a FIFO or a device) owned by `uid`, that nobody else may read or write,
 * of at most `maxBytes`. `undefined` when there is no file. The checks are made on the
 * opened file, so the file cannot be swapped between the check and the read.
 */
export async function readOwnFile(
  path: string,
  uid: number | undefined,
  maxBytes: number,
): Promise<OwnFile | undefined> {
  try {
    const handle = await open(path, openFlags);
    try {
      const info = await handle.stat();
      if (!info.isFile()) return { refused: 'not a regular file' };
      if (uid !== undefined && info.uid !== uid) {
        return { refused: `owned by uid ${info.uid}, not by this user (uid ${uid})` };
      }
      // Mode bits mean nothing on Windows (no uid there either).
      if (uid !== undefined && (info.mode & 0o077) !== 0) {
        return { refused: `others may read or write it (mode ${(info.mode & 0o777).toString(8)})` };
      }
      if (info.size > maxBytes) return { refused: 'too large to be a tokenfetch file' };
      return { text: await handle.readFile('utf8'), modifiedAt: info.mtimeMs };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') return { refused: 'a symbolic link' };
    return { refused: `unreadable (${typeof code === 'string' ? code : 'error'})` };
  }
}

/** The JSON value of `text`, or `undefined`: never the parser's message, which quotes it. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

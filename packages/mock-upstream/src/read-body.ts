import type { IncomingMessage } from 'node:http';

/** Request bodies above this size are answered 413. */
export const bodyLimitBytes = 1024 * 1024;

/** Past this many bytes an oversized body is no longer drained: the socket is destroyed. */
const drainLimitBytes = 64 * bodyLimitBytes;

/** The body as text, or `tooLarge` when it exceeded the limit (the rest was drained). */
export type BodyResult = { tooLarge: false; text: string } | { tooLarge: true };

/**
 * Reads the whole request body. An oversized body is drained and discarded so the
 * client sees the 413 instead of a reset; rejects if the client goes away mid-body.
 */
export function readBody(req: IncomingMessage, limit = bodyLimitBytes): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (size > drainLimitBytes) req.destroy();
    });
    req.on('end', () => {
      resolve(tooLarge ? { tooLarge } : { tooLarge, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('request aborted before its body ended'));
    });
  });
}

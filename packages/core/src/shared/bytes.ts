/**
 * Bytes and text without Node's `Buffer`, for the parts of core that run on every runtime
 * (Node, Bun, Deno, Workers): UTF-8 through TextEncoder/TextDecoder, base64 through
 * `atob`/`btoa`.
 */

// ignoreBOM: a leading byte order mark is kept, as Buffer's toString keeps it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/** UTF-8 of `text`. */
export function utf8Bytes(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The text of UTF-8 `chunks` (bad bytes become U+FFFD, as Buffer's toString does). */
export function utf8Text(chunks: readonly Uint8Array[]): string {
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  let text = '';
  const streaming = new TextDecoder('utf-8', { ignoreBOM: true });
  for (const chunk of chunks) text += streaming.decode(chunk, { stream: true });
  return text + streaming.decode();
}

/** Standard base64 (with padding) of `bytes`. */
export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * The UTF-8 text of base64url (or base64) `encoded`, padding optional; `undefined` when it
 * is not base64 at all.
 */
export function base64UrlText(encoded: string): string | undefined {
  // Padding and ASCII whitespace are dropped before padding anew, as Buffer did: a payload
  // padded to its length, or over-padded, still decodes.
  const standard = encoded
    .replace(/[=\t\n\f\r ]/g, '')
    .replace(/-/g, '+')
    .replace(/_/g, '/');
  const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decoder.decode(bytes);
}

/** `text` with each lone surrogate replaced by U+FFFD: what its UTF-8 decodes back to. */
export function wellFormed(text: string): string {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
}

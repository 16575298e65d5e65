import { base64, utf8Bytes, wellFormed } from '../shared/bytes.js';
/**
 * Text with every occurrence of each secret replaced by `[redacted]`, in the forms an
 * upstream that quotes what it was sent may write it in:
 *
 * - as it is;
 * - inside a JSON string: `\"` and `\\` escapes, `\/` (PHP), `\u00e4` (Python's
 *   `ensure_ascii`), and `\uXXXX` escapes of any other character (`\u0022`);
 * - percent-encoded (`encodeURIComponent`, any hex case) or form-encoded (`+` for space);
 * - in base64 or base64url, alone or inside a longer value (a Basic `user:password`): the
 *   whole run of base64 characters is redacted.
 *
 * Empty secrets are skipped. Used on any text that may quote what tokenfetch sent: an
 * upstream's error body, a store's error message, a CLI line. Text without `\`, `%` or
 * `+` is searched as it is, for each secret and its base64 forms.
 */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  const given = [...secrets].filter(
    (secret): secret is string => secret !== undefined && secret !== '',
  );
  // A secret with a lone surrogate reaches the upstream (JSON escapes it) but comes back in
  // UTF-8 as U+FFFD in its place, as does its base64: look for that form too.
  const wanted = [...new Set([...given, ...given.map(wellFormed)])];
  if (wanted.length === 0 || text === '') return text;
  const ranges: Array<[number, number]> = [];
  for (const view of viewsOf(text)) {
    for (const secret of wanted) {
      collect(view, secret, false, ranges);
      for (const core of base64Cores(secret)) collect(view, core, true, ranges);
    }
  }
  return ranges.length === 0 ? text : replaceRanges(text, ranges);
}

/**
 * The text as one decoding reads it: `at[i]` is where the view's character `i` starts in
 * the text (`at[view.length]` is the text's end).
 */
interface View {
  text: string;
  at: ArrayLike<number> | undefined;
}

/** The text itself, and the decodings it may hold secrets in (only those it has signs of). */
function viewsOf(text: string): View[] {
  const views: View[] = [{ text, at: undefined }];
  // A JSON string inside a JSON string escapes twice: decode up to three levels.
  let json: View = views[0]!;
  for (let level = 0; level < 3 && json.text.includes('\\'); level++) {
    const next = compose(json, unescapeJson(json.text));
    if (next.text === json.text) break;
    views.push(next);
    json = next;
  }
  if (text.includes('%') || text.includes('+')) {
    views.push(decodePercent(text, false));
    if (text.includes('+')) views.push(decodePercent(text, true));
  }
  return views;
}

/** Adds the ranges of the text where `needle` appears in `view` (the base64 run around it). */
function collect(view: View, needle: string, base64: boolean, ranges: Array<[number, number]>) {
  const { text } = view;
  for (let from = text.indexOf(needle); from !== -1; from = text.indexOf(needle, from + 1)) {
    let start = from;
    let end = from + needle.length;
    if (base64) {
      while (start > 0 && base64Character.test(text[start - 1]!)) start--;
      while (end < text.length && base64Character.test(text[end]!)) end++;
    }
    ranges.push(view.at === undefined ? [start, end] : [view.at[start]!, view.at[end]!]);
  }
}

function replaceRanges(text: string, ranges: Array<[number, number]>): string {
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let done = 0;
  for (const [start, end] of ranges) {
    if (end <= done) continue;
    if (start >= done) out += text.slice(done, start) + redacted;
    done = end;
  }
  return out + text.slice(done);
}

const redacted = '[redacted]';
const base64Character = /[A-Za-z0-9+/=_-]/;
/** Shorter runs would match ordinary words and ids. */
const minimumCoreLength = 6;

/**
 * The base64 and base64url characters that encode only bytes of `secret`, at each of the
 * three offsets it may have inside a longer encoded value.
 */
function base64Cores(secret: string): readonly string[] {
  let cores = coreCache.get(secret);
  if (cores === undefined) {
    cores = computeBase64Cores(secret);
    // The secrets of a process are few (its credentials, the tokens of the hour).
    if (coreCache.size >= coreCacheSize) coreCache.clear();
    coreCache.set(secret, cores);
  }
  return cores;
}

const coreCache = new Map<string, readonly string[]>();
const coreCacheSize = 100;

function computeBase64Cores(secret: string): string[] {
  const bytes = utf8Bytes(secret);
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const shifted = new Uint8Array(offset + bytes.length);
    shifted.set(bytes, offset);
    const encoded = base64(shifted);
    const core = encoded.slice(
      Math.ceil((8 * offset) / 6),
      Math.floor((8 * (offset + bytes.length)) / 6),
    );
    if (core.length < minimumCoreLength) continue;
    cores.push(core);
    const urlSafe = core.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== core) cores.push(urlSafe);
  }
  return cores;
}

/** A decoding of `outer.text`, as a view of the original text. */
function compose(outer: View, inner: View): View {
  if (outer.at === undefined) return inner;
  const at = new Int32Array(inner.text.length + 1);
  for (let i = 0; i <= inner.text.length; i++) at[i] = outer.at[inner.at![i]!]!;
  return { text: inner.text, at };
}

const jsonEscapes: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** JSON string escapes decoded (`\"`, `\\`, `\/`, `\n`…, `\uXXXX`); anything else kept. */
function unescapeJson(text: string): View {
  let out = '';
  const at: number[] = [];
  for (let i = 0; i < text.length;) {
    if (text[i] === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      if (next === 'u' && /^[\da-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
        at.push(i);
        i += 6;
        continue;
      }
      const escaped = jsonEscapes[next];
      if (escaped !== undefined) {
        out += escaped;
        at.push(i);
        i += 2;
        continue;
      }
    }
    out += text[i];
    at.push(i);
    i++;
  }
  at.push(text.length);
  return { text: out, at };
}

/**
 * Percent-encoded UTF-8 decoded (any hex case), and `+` as a space when `plus`; a `%`
 * that does not start valid UTF-8 is kept.
 */
function decodePercent(text: string, plus: boolean): View {
  let out = '';
  const at: number[] = [];
  for (let i = 0; i < text.length;) {
    const char = text[i]!;
    if (char === '%') {
      const decoded = utf8At(text, i);
      if (decoded !== undefined) {
        out += decoded.text;
        for (let k = 0; k < decoded.text.length; k++) at.push(i);
        i += decoded.length;
        continue;
      }
    }
    out += plus && char === '+' ? ' ' : char;
    at.push(i);
    i++;
  }
  at.push(text.length);
  return { text: out, at };
}

/** The character whose UTF-8 bytes are percent-encoded at `i`, and how many text characters encode it. */
function utf8At(text: string, i: number): { text: string; length: number } | undefined {
  const first = byteAt(text, i);
  if (first === undefined) return undefined;
  const count = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 0;
  if (count === 0) return undefined;
  let code = count === 1 ? first : first & (0xff >> (count + 1));
  for (let k = 1; k < count; k++) {
    const next = byteAt(text, i + 3 * k);
    if (next === undefined || (next & 0xc0) !== 0x80) return undefined;
    code = (code << 6) | (next & 0x3f);
  }
  if (code > 0x10ffff) return undefined;
  return { text: String.fromCodePoint(code), length: 3 * count };
}

function byteAt(text: string, i: number): number | undefined {
  if (text[i] !== '%') return undefined;
  const hex = text.slice(i + 1, i + 3);
  return /^[\da-fA-F]{2}$/.test(hex) ? Number.parseInt(hex, 16) : undefined;
}

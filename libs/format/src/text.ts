/**
 * Names from the kernel (paths, comm, hostnames, argv) are bytes, not always UTF-8. The decoders
 * (core's decodeText) keep a byte that is not UTF-8 as a lone surrogate U+DC80..U+DCFF; these
 * functions are the only way such a string reaches the output:
 *
 * - tableText: one line of text that tells every byte sequence apart. Valid UTF-8 prints as it is,
 *   except: `\` -> `\\`, newline -> `\n`, tab -> `\t`, carriage return -> `\r`, any other control
 *   byte (C0, DEL, and the C1 controls' two bytes) and any byte that is not UTF-8 -> `\xNN`. A
 *   backslash in the output always starts an escape, so `\xff` the byte and `\xff` the four
 *   characters (printed `\\xff`) never look the same.
 * - jsonText / jsonFields: valid UTF-8 goes into the JSON string as it is (JSON escapes what it
 *   must), so the usual case is the plain text. A name that is not valid UTF-8 gets its tableText
 *   form in the field and the exact bytes, base64, in a sibling field `<key>_b64`: the JSON stays
 *   valid UTF-8 and nothing is lost. To recover the bytes: `<key>_b64` when present, else the UTF-8
 *   of `<key>`.
 */
import { hasRawBytes, textBytes } from '@bpf-recipes/core';

/** what tableText must change: backslash, C0 controls, DEL, C1 controls, and any surrogate (checked exactly on the slow path) */
const NEEDS_ESCAPE = /[\\\x00-\x1f\x7f-\x9f\ud800-\udfff]/;
const SHORT: Record<number, string> = { 0x5c: '\\\\', 0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r' };

const hex = (n: number) => '\\x' + (n < 16 ? '0' : '') + n.toString(16);

/** A name as one unambiguous table/text line (see the top of this file). */
export function tableText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return escape(s, false);
}

/**
 * The same for multi-line text (sslsnoop's data): newlines and tabs, and CR in a CRLF pair, stay
 * as they are; everything else tableText escapes is escaped.
 */
export function blockText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return escape(s, true);
}

function escape(s: string, block: boolean): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    let rep: string | undefined;
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a surrogate pair: an astral character, printed as it is
      continue;
    }
    if (block && (u === 0x0a || u === 0x09 || (u === 0x0d && s.charCodeAt(i + 1) === 0x0a))) continue;
    if (u < 0x20 || u === 0x5c || u === 0x7f) rep = SHORT[u] ?? hex(u);
    else if (u >= 0x80 && u <= 0x9f) rep = hex(0xc0 | (u >> 6)) + hex(0x80 | (u & 0x3f)); // its two UTF-8 bytes
    else if (u >= 0xdc80 && u <= 0xdcff) rep = hex(u - 0xdc00); // a byte that was not UTF-8
    else if (u >= 0xd800 && u <= 0xdfff) rep = '\\x' + [...Buffer.from(s[i], 'utf8')].map((b) => b.toString(16)).join('\\x'); // not from a decoder: shown as what it would be written as
    if (rep === undefined) continue;
    out += s.slice(run, i) + rep;
    run = i + 1;
  }
  return out + s.slice(run);
}

/** `"key":"value"` for JSON built by hand, with `,"key_b64":"..."` after it when the value is not valid UTF-8. */
export function jsonText(key: string, s: string): string {
  return `"${key}":${jsonTextValue(key, s)}`;
}

/** jsonText without its `"key":` (for a serializer that has the key in its own text): `"value"`, or `"value","key_b64":"..."`. */
export function jsonTextValue(key: string, s: string): string {
  if (!hasRawBytes(s)) return JSON.stringify(s);
  return `${JSON.stringify(tableText(s))},"${key}_b64":"${textBytes(s).toString('base64')}"`;
}

/** The same as object fields, to spread into an object given to JSON.stringify: `{key}` or `{key, key_b64}`. */
export function jsonFields(key: string, s: string): Record<string, string> {
  if (!hasRawBytes(s)) return { [key]: s };
  return { [key]: tableText(s), [`${key}_b64`]: textBytes(s).toString('base64') };
}

/** For a list of names (argv): `{key: [...]}`, and when any is not valid UTF-8, `key_b64` with every element's bytes. */
export function jsonListFields(key: string, list: string[]): Record<string, string[]> {
  if (!list.some(hasRawBytes)) return { [key]: list };
  return { [key]: list.map(tableText), [`${key}_b64`]: list.map((s) => textBytes(s).toString('base64')) };
}

/** Readers used by the generated decoders. Kept apart from the loader so decoding costs no FFI import. */

const TWO32 = 4294967296;

/** u64 as a number: exact below 2^53, which covers timestamps, sizes and offsets. */
export function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * TWO32;
}

export function s64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readInt32LE(o + 4) * TWO32;
}

/**
 * A NUL-terminated string in a fixed-size char array. Valid UTF-8 (the common case: one native
 * decode and one scan for U+FFFD) is returned as it is; anything else goes through decodeText,
 * so a byte that is not UTF-8 is kept, not replaced.
 */
export function cstr(b: Buffer, o: number, size: number): string {
  let end = b.indexOf(0, o);
  if (end < 0 || end > o + size) end = o + size;
  const s = b.toString('utf8', o, end);
  return s.indexOf('\ufffd') < 0 ? s : decodeText(b, o, end);
}

/**
 * Bytes as text without losing any: each well-formed UTF-8 sequence becomes its character, and
 * each byte that is not part of one becomes the lone surrogate U+DC00 + byte (U+DC80..U+DCFF),
 * which well-formed UTF-8 can never produce. textBytes() gives the exact bytes back; libs/format
 * turns such strings into `\xff` (tables) or a `<key>_b64` sibling (JSON).
 */
export function decodeText(b: Uint8Array, start = 0, end = b.length): string {
  let out = '';
  let run = start; // start of the current stretch of valid UTF-8, decoded natively in one go
  let i = start;
  const flush = (to: number) => {
    if (to > run) out += Buffer.from(b.buffer, b.byteOffset + run, to - run).toString('utf8');
  };
  while (i < end) {
    const c = b[i];
    let n = 0; // length of a well-formed sequence at i, 0 when the byte at i is not the start of one
    if (c < 0x80) n = 1;
    else if (c >= 0xc2 && c <= 0xdf) n = cont(b, i + 1, end) ? 2 : 0;
    else if (c >= 0xe0 && c <= 0xef) {
      const c1 = i + 1 < end ? b[i + 1] : 0;
      // no overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF)
      const ok = c === 0xe0 ? c1 >= 0xa0 && c1 <= 0xbf : c === 0xed ? c1 >= 0x80 && c1 <= 0x9f : c1 >= 0x80 && c1 <= 0xbf;
      n = ok && cont(b, i + 2, end) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const c1 = i + 1 < end ? b[i + 1] : 0;
      // no overlong forms (F0 80..8F), nothing above U+10FFFF (F4 90..)
      const ok = c === 0xf0 ? c1 >= 0x90 && c1 <= 0xbf : c === 0xf4 ? c1 >= 0x80 && c1 <= 0x8f : c1 >= 0x80 && c1 <= 0xbf;
      n = ok && cont(b, i + 2, end) && cont(b, i + 3, end) ? 4 : 0;
    }
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    out += String.fromCharCode(0xdc00 + c);
    run = ++i;
  }
  flush(end);
  return out;
}

const cont = (b: Uint8Array, i: number, end: number) => i < end && (b[i] & 0xc0) === 0x80;

/** The bytes a string from decodeText (or any string) stands for: UTF-8, and U+DC80..U+DCFF as the byte it escapes. */
export function textBytes(s: string): Buffer {
  if (!/[\udc80-\udcff]/.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a surrogate pair: one astral character, valid UTF-8
      continue;
    }
    if (u >= 0xdc80 && u <= 0xdcff) {
      parts.push(Buffer.from(s.slice(run, i), 'utf8'), Buffer.of(u - 0xdc00));
      run = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** True when the string holds a byte that was not UTF-8 (a lone surrogate from decodeText). */
export const hasRawBytes: (s: string) => boolean =
  // String.prototype.isWellFormed (Node 20+): native, several times faster than the regex
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => !(s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => /\p{Cs}/u.test(s);

/** A copy of raw bytes (the ring buffer's memory is reused once the record is consumed). */
export function bytes(b: Buffer, o: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(b.subarray(o, o + size));
  return out;
}

export type RodataType = 'bool' | 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64' | 'string' | 'bytes' | 'struct';
export interface RodataVarLayout { offset: number; size: number; type: RodataType }
export type RodataLayout = Record<string, RodataVarLayout>;

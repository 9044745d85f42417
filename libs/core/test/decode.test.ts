import { describe, expect, it } from 'vitest';
import { cstr, decodeText, hasRawBytes, textBytes } from '../src/decode.js';

const b = (...x: number[]) => Buffer.from(x);
const roundTrip = (buf: Buffer) => expect(textBytes(decodeText(buf)).equals(buf)).toBe(true);

describe('cstr: char arrays from the kernel', () => {
  it('valid UTF-8 is returned as it is, up to the NUL or the end of the array', () => {
    const buf = Buffer.alloc(16);
    buf.write('/tmp/é→😀', 0, 'utf8');
    expect(cstr(buf, 0, 16)).toBe('/tmp/é→😀');
    expect(hasRawBytes(cstr(buf, 0, 16))).toBe(false);
    const full = Buffer.from('abcdefgh');
    expect(cstr(full, 2, 4)).toBe('cdef');
  });
  it('a byte that is not UTF-8 is kept as U+DC00+byte, never U+FFFD', () => {
    const buf = Buffer.concat([Buffer.from('/tmp/a'), b(0xff, 0xfe), Buffer.from('z'), b(0, 0x41)]);
    const s = cstr(buf, 0, buf.length);
    expect(s).toBe('/tmp/a\udcff\udcfez');
    expect(hasRawBytes(s)).toBe(true);
    expect(textBytes(s).equals(buf.subarray(0, 9))).toBe(true);
  });
  it('a real U+FFFD in the bytes stays U+FFFD (the fast path only suspects it)', () => {
    const buf = Buffer.from('a\ufffdb\0', 'utf8');
    expect(cstr(buf, 0, buf.length)).toBe('a\ufffdb');
  });
});

describe('decodeText', () => {
  it('keeps valid multi-byte sequences and escapes each stray byte on its own', () => {
    expect(decodeText(Buffer.from('héllo wörld ☃ 😀', 'utf8'))).toBe('héllo wörld ☃ 😀');
    expect(decodeText(b(0x61, 0xc3, 0xa9, 0x80, 0x62))).toBe('aé\udc80b');
  });
  it('a sequence cut at the end of the buffer is bytes, not a character', () => {
    expect(decodeText(b(0x61, 0xe2, 0x98))).toBe('a\udce2\udc98'); // ☃ is e2 98 83
    expect(decodeText(b(0xf0, 0x9f, 0x98))).toBe('\udcf0\udc9f\udc98');
    expect(decodeText(b(0xc3))).toBe('\udcc3');
    expect(decodeText(Buffer.from('x☃', 'utf8'), 0, 3)).toBe('x\udce2\udc98');
  });
  it('overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8', () => {
    expect(decodeText(b(0xc0, 0xaf))).toBe('\udcc0\udcaf');
    expect(decodeText(b(0xe0, 0x80, 0xaf))).toBe('\udce0\udc80\udcaf');
    expect(decodeText(b(0xed, 0xa0, 0x80))).toBe('\udced\udca0\udc80');
    expect(decodeText(b(0xf4, 0x90, 0x80, 0x80))).toBe('\udcf4\udc90\udc80\udc80');
    expect(decodeText(b(0xf4, 0x8f, 0xbf, 0xbf))).toBe('\u{10ffff}');
  });
  it('every byte string comes back exactly', () => {
    roundTrip(b(0xff, 0xfe, 0x5c, 0x78, 0x66, 0x66, 0x00, 0x0a, 0xc3, 0xa9, 0xe2, 0x98));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    roundTrip(all);
    let seed = 1;
    for (let n = 0; n < 200; n++) {
      const r = Buffer.alloc(1 + (n % 40));
      for (let i = 0; i < r.length; i++) r[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      roundTrip(r);
    }
  });
  it('textBytes of an ordinary string is its UTF-8 (astral characters included)', () => {
    expect(textBytes('a💀b').equals(Buffer.from('a💀b', 'utf8'))).toBe(true); // 💀 is d83d dc80: a pair, not a byte
  });
});

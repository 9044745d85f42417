import { describe, expect, it } from 'vitest';
import { addrText } from '../src/index.js';

const v6 = (...g: number[]) => new Uint8Array(g.flatMap((x) => [x >> 8, x & 0xff]));

describe('addrText', () => {
  it('formats like inet_ntop', () => {
    expect(addrText(2, new Uint8Array([127, 0, 0, 1]))).toBe('127.0.0.1');
    expect(addrText(2, new Uint8Array([10, 1, 2, 3, ...Array(12).fill(9)]))).toBe('10.1.2.3');
    expect(addrText(10, v6(0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(addrText(10, v6(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
    expect(addrText(10, v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1))).toBe('2001:db8::1:0:0:1');
    expect(addrText(10, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))).toBe('2001:db8::1');
    expect(addrText(10, v6(0xfe80, 0, 0, 0, 1, 0, 0, 2))).toBe('fe80::1:0:0:2');
    expect(addrText(10, v6(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6))).toBe('2001:db8:1:2:3:4:5:6');
    expect(addrText(10, v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1))).toBe('::ffff:127.0.0.1');
  });
  it('a single zero group stays; of two equal runs the first becomes ::', () => {
    expect(addrText(10, v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe('2001:db8:0:1:1:1:1:1');
    expect(addrText(10, v6(0, 0, 1, 0, 0, 1, 1, 1))).toBe('::1:0:0:1:1:1');
  });
  it('another family says so', () => {
    expect(addrText(1, new Uint8Array(16))).toBe('family 1');
  });
});

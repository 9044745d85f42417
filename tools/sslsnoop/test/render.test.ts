import { describe, expect, it } from 'vitest';
import { hexdump, printable } from '../src/render.js';

describe('render', () => {
  it('hexdump: offset, two groups of 8 bytes, ASCII', () => {
    expect(hexdump(Buffer.from('GET / HTTP/1.1\r\nHost'))).toBe(
      '00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n' +
      '00000010  48 6f 73 74                                       |Host|',
    );
  });
  it('printable text keeps newlines and tabs; control bytes are not', () => {
    expect(printable(Buffer.from('a\tb\r\n'))).toBe(true);
    expect(printable(Buffer.from([0x16, 0x03, 0x01]))).toBe(false);
  });
});

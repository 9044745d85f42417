import { decodeText, textBytes } from '@bpf-recipes/core';
import { describe, expect, it } from 'vitest';
import { blockText, jsonFields, jsonListFields, jsonText, tableText } from '../src/index.js';

const raw = (...parts: (string | number[])[]) => decodeText(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))));

describe('tableText', () => {
  it('leaves plain and multi-byte UTF-8 unchanged (the same string, no copy)', () => {
    for (const s of ['/etc/passwd', 'héllo wörld', '☃ 😀 漢字', '']) expect(tableText(s)).toBe(s);
  });
  it('shows bytes that are not UTF-8 as \\xNN and a backslash as \\\\, so the two never look alike', () => {
    const bytes = raw('/tmp/a', [0xff, 0xfe]);
    const literal = '/tmp/a\\xff\\xfe';
    expect(tableText(bytes)).toBe('/tmp/a\\xff\\xfe');
    expect(tableText(literal)).toBe('/tmp/a\\\\xff\\\\xfe');
    expect(tableText(bytes)).not.toBe(tableText(literal));
  });
  it('keeps one event on one line: newline, tab, CR, other controls, DEL and C1 controls are escaped', () => {
    expect(tableText('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(tableText('\x00\x1b[31m\x7f')).toBe('\\x00\\x1b[31m\\x7f');
    expect(tableText('x\u0085y')).toBe('x\\xc2\\x85y'); // NEL, shown as its two bytes
  });
  it('a multi-byte sequence cut at the end of the buffer shows its bytes', () => {
    expect(tableText(raw('comm-', [0xe2, 0x98]))).toBe('comm-\\xe2\\x98');
  });
  it('escapes inside strings with astral characters (surrogate pairs are characters, not bytes)', () => {
    expect(tableText(raw('💀', [0x80], '😀\\'))).toBe('💀\\x80😀\\\\');
  });
  it('every escaped form is different for different bytes (injective on a sample)', () => {
    const seen = new Map<string, string>();
    const samples = ['\\', '\\\\', '\\x5c', '\\xff', '\n', '\\n', 'é', '\u0085', '\\xc2\\x85'].map((s) => Buffer.from(s, 'utf8'));
    samples.push(Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xc3, 0x85]), Buffer.from([0x5c, 0xff]));
    for (const bytes of samples) {
      const shown = tableText(decodeText(bytes));
      expect(seen.get(shown), `${shown} for two byte strings`).toBeUndefined();
      seen.set(shown, bytes.toString('hex'));
    }
  });
});

describe('blockText (multi-line data)', () => {
  it('keeps newlines, tabs and CRLF; escapes a lone CR, backslashes, controls and stray bytes', () => {
    expect(blockText('GET / HTTP/1.1\r\nHost: x\r\n\tz')).toBe('GET / HTTP/1.1\r\nHost: x\r\n\tz');
    expect(blockText(raw('a\rb\\c', [0xff], '\x1b'))).toBe('a\\rb\\\\c\\xff\\x1b');
  });
});

describe('JSON', () => {
  it('valid UTF-8 is the plain string, control characters and backslashes JSON-escaped', () => {
    expect(jsonText('path', 'a\\b\n"é"')).toBe('"path":"a\\\\b\\n\\"é\\""');
    expect(JSON.parse(`{${jsonText('path', 'a\\b\n"é"')}}`)).toEqual({ path: 'a\\b\n"é"' });
    expect(jsonFields('comm', 'sleep')).toEqual({ comm: 'sleep' });
  });
  it('bytes that are not UTF-8: the escaped text in the field, the exact bytes in <key>_b64', () => {
    const bytes = Buffer.from([0x2f, 0x61, 0xff, 0xfe, 0x5c, 0x0a]);
    const s = decodeText(bytes);
    const line = `{${jsonText('path', s)}}`;
    expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line); // valid UTF-8: no lone surrogate written
    const o = JSON.parse(line);
    expect(o.path).toBe('/a\\xff\\xfe\\\\\\n');
    expect(Buffer.from(o.path_b64, 'base64').equals(bytes)).toBe(true);
    expect(JSON.parse(JSON.stringify(jsonFields('path', s)))).toEqual(o);
  });
  it('a list: every element in <key>_b64 when any one is not UTF-8', () => {
    expect(jsonListFields('argv', ['python3', '-c'])).toEqual({ argv: ['python3', '-c'] });
    const o = jsonListFields('argv', ['python3', raw([0xff])]);
    expect(o.argv).toEqual(['python3', '\\xff']);
    expect(o.argv_b64.map((x) => Buffer.from(x, 'base64').toString('hex'))).toEqual([Buffer.from('python3').toString('hex'), 'ff']);
    expect(textBytes(raw([0xff])).toString('hex')).toBe('ff');
  });
});

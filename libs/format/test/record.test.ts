import { describe, expect, it } from 'vitest';
import { decodeText } from '@bpf-recipes/core';
import { recordFormat } from '../src/record.js';

type V = [string, number, string | null, string, string, number[] | undefined, number | null];
const fmt = recordFormat<V, Record<string, unknown>>([
  ['time', 'plain'], ['pid', 'num'], ['errno', 'plain'], ['comm', 'text'], ['note', 'str'], ['argv', 'json'], ['mode', 'num'],
]);

describe('recordFormat: one declaration, the object and the --json line', () => {
  it('the line is JSON.stringify of the object, key for key, in the declared order', () => {
    const cases: V[] = [
      ['2026-12-07T10:00:00.000Z', 42, null, 'bash', 'a "quoted"\nline', [1, 2], 0o644],
      ['2026-12-07T10:00:00.001Z', 7, 'ENOENT', 'sh', '', undefined, null],
    ];
    for (const v of cases) {
      const line = fmt.json(v);
      expect(line).toBe(JSON.stringify(fmt.record(v)));
      expect(Object.keys(JSON.parse(line))).toEqual(Object.keys(fmt.record(v)));
    }
    expect(fmt.json(cases[1])).toBe('{"time":"2026-12-07T10:00:00.001Z","pid":7,"errno":"ENOENT","comm":"sh","note":"","mode":null}');
  });
  it('a text field that is not UTF-8: the escaped text, then KEY_b64 with the exact bytes, in both', () => {
    const comm = decodeText(Buffer.from([0x62, 0xff, 0x5c, 0x78]));
    const v: V = ['t', 1, null, comm, 'x', undefined, 1];
    expect(fmt.record(v)).toMatchObject({ comm: 'b\\xff\\\\x', comm_b64: Buffer.from([0x62, 0xff, 0x5c, 0x78]).toString('base64') });
    expect(fmt.json(v)).toBe(JSON.stringify(fmt.record(v)));
  });
  it('a null text and an optional field last (left out and given)', () => {
    const f = recordFormat<[number, string | null, unknown], Record<string, unknown>>([['a', 'num'], ['name', 'text'], ['extra', 'json']]);
    expect(f.json([1, null, undefined])).toBe('{"a":1,"name":null}');
    expect(f.json([1, 'x', { k: [1] }])).toBe('{"a":1,"name":"x","extra":{"k":[1]}}');
    expect(f.json([1, 'x', { k: [1] }])).toBe(JSON.stringify(f.record([1, 'x', { k: [1] }])));
  });
  it('refuses a field name that would need escaping, and an optional first field', () => {
    expect(() => recordFormat([['a"b', 'num']])).toThrow(/not a plain field name/);
    expect(() => recordFormat([['a', 'json']])).toThrow(/first field/);
  });
});

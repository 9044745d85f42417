// Unit: how long a libbpf message may be before it is cut, and that its tail survives the cut.
import { describe, expect, it } from 'vitest';
import { MESSAGE_MAX, boundMessage } from '../src/log.js';

describe('boundMessage', () => {
  it('keeps a message up to MESSAGE_MAX whole', () => {
    const t = 'x'.repeat(MESSAGE_MAX - 1) + 'Z';
    expect(boundMessage(Buffer.from(t))).toBe(t);
  });
  it('past MESSAGE_MAX keeps the head and the tail, and says how much is left out', () => {
    const t = 'HEAD' + 'x'.repeat(3 * MESSAGE_MAX) + 'the failing instruction';
    const out = boundMessage(Buffer.from(t));
    expect(out.startsWith('HEAD')).toBe(true);
    expect(out.endsWith('x' + 'the failing instruction')).toBe(true);
    expect(out.length).toBeLessThan(MESSAGE_MAX + 100);
    const left = Number(/\[\.\.\. (\d+) bytes of this message left out \.\.\.\]/.exec(out)![1]);
    expect(left).toBe(t.length - MESSAGE_MAX);
  });
});

import { describe, expect, it } from 'vitest';
import { parseBlockRange, parseBlockTime, parseState, stateLetters } from '../src/args.js';
import { OFFCPU_STATE_ALL, OFFCPU_STATE_DISK, OFFCPU_STATE_IDLE, OFFCPU_STATE_RUNNING, OFFCPU_STATE_SLEEPING } from '../src/generated/offcputime.js';

describe('--state', () => {
  it('takes letters and words, comma-separated, or the kernel number', () => {
    expect(parseState(undefined)).toEqual({ mask: OFFCPU_STATE_ALL, raw: -1 });
    expect(parseState('S,D')).toEqual({ mask: OFFCPU_STATE_SLEEPING | OFFCPU_STATE_DISK, raw: -1 });
    expect(parseState('running, idle')).toEqual({ mask: OFFCPU_STATE_RUNNING | OFFCPU_STATE_IDLE, raw: -1 });
    expect(parseState('Disk')).toEqual({ mask: OFFCPU_STATE_DISK, raw: -1 });
    expect(parseState('all')).toEqual({ mask: OFFCPU_STATE_ALL, raw: -1 });
    expect(parseState('2')).toEqual({ mask: 0, raw: 2 });
    expect(stateLetters(parseState('D,S'))).toBe('state S,D');
    expect(stateLetters(parseState('1026'))).toBe('state 1026');
    expect(stateLetters(parseState(undefined))).toBe('all states');
  });

  it('refuses anything else with the fix', () => {
    expect(() => parseState('Q')).toThrow(/'Q' is not a task state: use R, S, D, I, T/);
    expect(() => parseState('S,')).toThrow(/'' is not a task state/);
    expect(() => parseState('99999')).toThrow(/not a task state/);
  });
});

describe('-m/-M', () => {
  it('reads microseconds, or a number with a unit, exactly', () => {
    expect(parseBlockTime('-m', '1000')).toBe(1_000_000n);
    expect(parseBlockTime('-m', 250)).toBe(250_000n);
    expect(parseBlockTime('-m', '10ms')).toBe(10_000_000n);
    expect(parseBlockTime('-m', '0.5ms')).toBe(500_000n);
    expect(parseBlockTime('-m', '2s')).toBe(2_000_000_000n);
    expect(parseBlockTime('-m', '1.5us')).toBe(1_500n);
    expect(parseBlockTime('-m', '700ns')).toBe(700n);
    expect(() => parseBlockTime('-m', 'soon')).toThrow(/-m: 'soon' is not a time/);
    expect(() => parseBlockTime('-m', '-5')).toThrow(/not a time/);
  });

  it('defaults to 1 µs and no upper bound; refuses an empty range', () => {
    expect(parseBlockRange(undefined, undefined)).toEqual({ minNs: 1000n, maxNs: 2n ** 64n - 1n });
    expect(parseBlockRange('1ms', '2ms')).toEqual({ minNs: 1_000_000n, maxNs: 2_000_000n });
    expect(() => parseBlockRange('10ms', '1ms')).toThrow(/below -m/);
  });
});

import { describe, expect, it } from 'vitest';
import { Columns, clockTime, isoTime, log2Hist, signalName, signalNumber, slotLabel, slotOf, table } from '../src/index.js';

describe('log2Hist', () => {
  it('uses slots 0, 1, then [2^(k-1), 2^k) and trims empty ends', () => {
    expect([0, 1, 2, 3, 4, 1023, 1024].map(slotOf)).toEqual([0, 1, 2, 2, 3, 10, 11]);
    expect(slotLabel(0)).toBe('[0]');
    expect(slotLabel(2)).toBe('[2, 4)');
    expect(slotLabel(11)).toBe('[1K, 2K)');
    expect(slotLabel(21)).toBe('[1M, 2M)');
    const out = log2Hist([0, 0, 2, 4, 0, 1], { title: '@usecs:', width: 8 });
    expect(out).toBe(['@usecs:', '[2, 4)       2 |@@@@    |', '[4, 8)       4 |@@@@@@@@|', '[8, 16)      0 |        |', '[16, 32)     1 |@@      |', ''].join('\n'));
  });
  it('prints only the title for no data', () => {
    expect(log2Hist([0, 0], { title: 't' })).toBe('t\n');
  });
});

describe('Columns', () => {
  it('aligns left and right and leaves the last column unpadded', () => {
    const c = new Columns([{ name: 'PID', width: 5, align: 'right' }, { name: 'COMM', width: 6 }, { name: 'PATH', width: 0 }]);
    expect(c.header()).toBe('  PID COMM   PATH');
    expect(c.row([42, 'cat', '/etc/passwd'])).toBe('   42 cat    /etc/passwd');
  });
});

describe('table', () => {
  it('renders a borderless summary', () => {
    expect(table(['A', 'B'], [['x', 1]]).split('\n')).toEqual(['A B', 'x 1']);
    const t = table(['SYSCALL', 'COUNT'], [['read', 10], ['write', 2]], ['left', 'right']);
    expect(t.split('\n')).toEqual(['SYSCALL COUNT', 'read       10', 'write       2']);
  });
});

describe('signals', () => {
  it('names signals, real-time ones included', () => {
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(34)).toBe('SIGRTMIN');
    expect(signalName(37)).toBe('SIGRTMIN+3');
    expect(signalName(64)).toBe('SIGRTMAX');
  });
  it('parses names and numbers', () => {
    expect(signalNumber('TERM')).toBe(15);
    expect(signalNumber('sigkill')).toBe(9);
    expect(signalNumber('15')).toBe(15);
    expect(signalNumber('RTMIN+3')).toBe(37);
    expect(signalNumber('SIGRTMAX-1')).toBe(63);
    expect(signalNumber('NOPE')).toBeUndefined();
    expect(signalNumber('99')).toBeUndefined();
  });
});

describe('time', () => {
  it('ISO 8601 UTC with milliseconds', () => {
    expect(isoTime(Date.UTC(2026, 10, 25, 3, 4, 5, 67))).toBe('2026-11-25T03:04:05.067Z');
    expect(isoTime(Date.UTC(2026, 10, 25, 3, 4, 5, 7.9))).toBe('2026-11-25T03:04:05.007Z');
    expect(isoTime(Date.UTC(2026, 10, 25, 3, 4, 6, 999))).toBe('2026-11-25T03:04:06.999Z');
    for (const ms of [0, 1, 999, 1000, 1764000000123.4, 1764000000999.9]) expect(isoTime(ms)).toBe(new Date(Math.floor(ms)).toISOString());
  });
  it('HH:MM:SS.mmm', () => {
    expect(clockTime(new Date(2026, 0, 2, 13, 4, 5, 9).getTime())).toBe('13:04:05.009');
  });
});

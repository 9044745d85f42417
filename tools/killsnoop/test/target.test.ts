import { describe, expect, it } from 'vitest';
import { targetOf } from '../src/target.js';

const proc = (pid: number) => (pid === 4242 ? 'sleep' : undefined);
const ev = (o: Partial<{ source: number; tpid: number; ttid: number; pidfd: number; tcomm: string }>) => ({ source: 0, tpid: 0, ttid: 0, pidfd: -1, tcomm: '', ...o });

describe('the target of a signal', () => {
  it('kill(2) of a process group names the group, not the comm of its first member', () => {
    // signal_generate fired for the group's first member: its comm is not the target's
    expect(targetOf(ev({ tpid: -77, tcomm: 'sh' }), proc)).toEqual({ tpid: -77, tcomm: '(group 77)', phrase: 'process group 77' });
    expect(targetOf(ev({ tpid: 0, tcomm: 'node' }), proc)).toEqual({ tpid: 0, tcomm: '(own group)', phrase: 'its own process group' });
    expect(targetOf(ev({ tpid: -1, tcomm: 'init' }), proc)).toEqual({ tpid: -1, tcomm: '(all)', phrase: 'every process it may signal' });
  });
  it('a pidfd whose signal was never generated: the target is unknown, not "own group"', () => {
    expect(targetOf(ev({ source: 5, tpid: 0, pidfd: 3 }), proc)).toEqual({ tpid: null, tcomm: '?', phrase: 'the process of pidfd 3' });
    expect(targetOf(ev({ source: 5, tpid: 4242, pidfd: 3, tcomm: 'sleep' }), proc)).toEqual({ tpid: 4242, tcomm: 'sleep', phrase: 'PID 4242 (sleep)' });
  });
  it('a pid or thread: the generated comm, else /proc, else "?"', () => {
    expect(targetOf(ev({ tpid: 4242, tcomm: 'sleep' }), proc).phrase).toBe('PID 4242 (sleep)');
    expect(targetOf(ev({ tpid: 4242 }), proc).tcomm).toBe('sleep');
    expect(targetOf(ev({ tpid: 999999 }), proc).tcomm).toBe('?');
    expect(targetOf(ev({ source: 2, tpid: 4000, ttid: 4242 }), proc)).toEqual({ tpid: 4242, tcomm: 'sleep', phrase: 'PID 4242 (sleep)' });
    expect(targetOf(ev({ source: 1, tpid: -5, ttid: -5 }), proc).tcomm).toBe('?'); // tkill(-5): EINVAL, no /proc/-5
  });
});

// Unit: the order in which attachUprobeCalls() attaches (cleanup, every return probe, then the
// entry probes) and what it does with a function that cannot be probed, on a recording fake object.
import { describe, expect, it } from 'vitest';
import { BpfError, type BpfObject, type UprobeTarget } from '@bpf-recipes/core';
import { attachUprobeCalls } from '../src/uprobes.js';

function fakeObject(opts: { cleanup?: boolean; missing?: string[] } = {}) {
  const log: string[] = [];
  const obj = {
    path: 'fake.bpf.o',
    attachAll: () => {
      log.push('attachAll');
      return opts.cleanup === false ? [] : ['t_thread_exit', 't_thread_exec'];
    },
    attachUprobe: (name: string, t: UprobeTarget) => {
      if (opts.missing?.includes(t.func!)) throw new BpfError(`attach ${name} to ${t.func}`, 2);
      log.push(`${t.retprobe ? 'ret' : 'entry'} ${name} ${t.func} pid=${t.pid}${t.retprobe ? '' : ` cookie=${t.cookie}`}`);
    },
  };
  return { obj: obj as unknown as BpfObject, log };
}

const calls = ['f', 'g', 'h'].map((func, cookie) => ({ binary: '/lib/x.so', pid: 7, func, cookie, entry: `t_enter_${func}`, ret: 't_ret' }));

describe('attachUprobeCalls', () => {
  it('attaches the cleanup first, then every return probe, then the entry probes with their cookies', () => {
    const { obj, log } = fakeObject();
    const notes: string[] = [];
    expect(attachUprobeCalls(obj, calls, (m) => notes.push(m)).map((c) => c.func)).toEqual(['f', 'g', 'h']);
    expect(log).toEqual([
      'attachAll',
      'ret t_ret f pid=7', 'ret t_ret g pid=7', 'ret t_ret h pid=7',
      'entry t_enter_f f pid=7 cookie=0', 'entry t_enter_g g pid=7 cookie=1', 'entry t_enter_h h pid=7 cookie=2',
    ]);
    expect(notes[0]).toBe('attached t_thread_exit, t_thread_exec');
  });

  it('a function that cannot be probed is skipped with a -v note, the others attach', () => {
    const { obj, log } = fakeObject({ missing: ['g'] });
    const notes: string[] = [];
    expect(attachUprobeCalls(obj, calls, (m) => notes.push(m)).map((c) => c.func)).toEqual(['f', 'h']);
    expect(log.filter((l) => l.includes(' g '))).toEqual([]);
    expect(notes.some((n) => n.startsWith('skipping g in /lib/x.so (PID 7): attach t_ret to g: ENOENT'))).toBe(true);
  });

  it('an object without the per-thread cleanup is refused', () => {
    const { obj } = fakeObject({ cleanup: false });
    expect(() => attachUprobeCalls(obj, calls, () => undefined)).toThrow(/no per-thread cleanup program/);
  });
});

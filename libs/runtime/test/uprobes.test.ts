// Unit: the order in which attachUprobeCalls() attaches (cleanup, every return probe, then the
// entry probes) and what it does with a function that cannot be probed, on a recording fake object.
import { describe, expect, it } from 'vitest';
import { BpfError, PreflightError, UsageError, type BpfObject, type UprobeTarget } from '@bpf-recipes/core';
import { attachUprobeCalls, findUprobeFiles } from '../src/uprobes.js';

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

describe('findUprobeFiles', () => {
  it('a file given by path that does not exist is a usage error naming the option', () => {
    expect(() => findUprobeFiles({ binaries: [{ path: '/no/such.so', option: '--libc', name: 'libc' }] }, () => undefined)).toThrow(UsageError);
    expect(() => findUprobeFiles({ binaries: [{ path: '/no/such.so', option: '--libc', name: 'libc' }] }, () => undefined)).toThrow(/^--libc: \/no\/such.so does not exist$/);
  });

  it('a file given by path is probed for each process, or for all', () => {
    const binaries = [{ path: process.execPath, option: '--binary', name: 'openssl' }];
    expect(findUprobeFiles({ binaries }, () => undefined)).toEqual([{ binary: process.execPath, pid: -1, library: 'openssl' }]);
    expect(findUprobeFiles({ binaries, pids: [3, 4] }, () => undefined).map((f) => f.pid)).toEqual([3, 4]);
  });

  it('a library a process has not mapped: the required one stops with its message, an optional one is a -v note', () => {
    const notes: string[] = [];
    // this process has no libnope mapped; PID 4194300 (past the default pid_max) does not exist
    expect(() => findUprobeFiles({ libraries: [{ name: 'nope', sonames: ['libnope.so.1'], required: (pid) => `no libnope in ${pid}` }], pids: [4194300] }, () => undefined))
      .toThrow(PreflightError);
    expect(findUprobeFiles({ libraries: [{ name: 'nope', sonames: ['libnope.so.1', 'libnope.so'] }], pids: [process.pid] }, (m) => notes.push(m))).toEqual([]);
    expect(notes).toEqual([`no nope library in PID ${process.pid} (libnope.so.1, libnope.so)`]);
  });

  it("a process's own copy is opened through /proc/PID/root", () => {
    const files = findUprobeFiles({ libraries: [{ name: 'libc', sonames: ['libc.so.6'] }], pids: [process.pid] }, () => undefined);
    expect(files).toHaveLength(1);
    expect(files[0].binary).toMatch(new RegExp(`^/proc/${process.pid}/root/.*libc\\.so\\.6$`));
  });
});

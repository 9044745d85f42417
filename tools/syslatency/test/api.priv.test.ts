// Privileged: the typed API (start()) — the same tracing as the command, in this process: exact
// histograms of a known workload from snapshot(), typed errors, and nothing left loaded after close().
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '@bpf-recipes/core';
import { fixture, heldPrograms, programsStillLoaded, skipPrivileged } from '@bpf-recipes/testing';
import { start, type Snapshot } from '@bpf-recipes/syslatency';
import { expectSleepBuckets, measured } from './sleeps.js';

describe.skipIf(skipPrivileged())('syslatency as a library: start()', () => {
  let workload: string;
  beforeAll(() => {
    workload = fixture('syslatency-workload', ['-static', '-pthread']);
  });
  /** run the workload to its end once it is held (WORKLOAD_WAIT) and released */
  const held = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ pid: number; release(): Promise<void>; output(): string }>((res) => {
      const p = spawn(workload, args, { env: { ...process.env, WORKLOAD_WAIT: '1', ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
      const closed = new Promise((r) => p.on('close', r));
      let out = '';
      p.stdout!.on('data', (d) => {
        out += d;
        if (/^ready$/m.test(out)) res({ pid: p.pid!, release: async () => { p.stdin!.end('go\n'); await closed; }, output: () => out });
      });
    });

  it('snapshot() holds exactly the workload\'s calls, in the right slots; close() leaves no program loaded', async () => {
    const w = await held(['nanosleep', '6', '20'], { WORKLOAD_TIMES: '1' });
    const t = start({ syscalls: ['nanosleep'], pid: [w.pid], by: 'pid' });
    const ids = heldPrograms(process.pid);
    expect(ids).toHaveLength(2); // sys_enter and sys_exit
    try {
      expect(t.snapshot().histograms).toEqual([]);
      await w.release();
      const s: Snapshot = t.snapshot();
      expect(s).toMatchObject({ by: 'pid', unit: 'us', missed: 0 });
      expect(s.histograms).toHaveLength(1);
      const [h] = s.histograms;
      expect(h).toMatchObject({ pid: w.pid, comm: 'syslatency-work', count: 6 });
      // 20 ms = 20000 us: slot 15 holds [16384, 32768) (a late wake-up on a busy machine: a slot up)
      expectSleepBuckets(h.slots.flatMap((count, s) => (count ? [{ low: s === 0 ? 0 : 2 ** (s - 1), count }] : [])), measured(w.output()), 20_000);
      expect(h.total_ns).toBeGreaterThanOrEqual(6 * 20e6);
      // totals: a second snapshot says the same
      expect(t.snapshot()).toEqual(s);
    } finally {
      await t.close();
    }
    expect(() => t.snapshot()).toThrow(/after close/);
    expect(heldPrograms(process.pid)).toEqual([]);
    expect(await programsStillLoaded(ids)).toEqual([]);
  });

  it('two at once, each with its own filter and key; milliseconds', async () => {
    const a = await held(['pwritev', '9']);
    const b = await held(['nanosleep', '3', '40']);
    const ta = start({ syscalls: ['pwritev'], pid: [a.pid], by: 'syscall' });
    const tb = start({ pid: [b.pid], milliseconds: true });
    try {
      await Promise.all([a.release(), b.release()]);
      expect(ta.snapshot().histograms.map((h) => [h.syscall, h.id, h.count])).toEqual([['pwritev', 296, 9]]);
      const sb = tb.snapshot();
      expect(sb.unit).toBe('ms');
      // every syscall of b after attach: its 3 nanosleeps of 40 ms, under its comm; none shorter than
      // 32 ms (slot 6, [32, 64) ms, unless a loaded machine wakes it late: then a later slot)
      expect(sb.histograms.map((h) => [h.comm, h.count, h.slots.slice(6).reduce((x, y) => x + y, 0)])).toEqual([['syslatency-work', 3, 3]]);
    } finally {
      await Promise.all([ta.close(), tb.close()]);
    }
  });

  it('bad options are a UsageError, thrown with nothing attached', () => {
    const before = heldPrograms(process.pid);
    expect(() => start({ syscalls: ['nosuchcall'] })).toThrow(UsageError);
    expect(() => start({ by: 'host' as never })).toThrow(/--by: 'host' is not one of comm, pid, tid, syscall/);
    expect(() => start({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid)).toEqual(before);
  });
});

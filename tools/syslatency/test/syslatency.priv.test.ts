// Privileged: the real syslatency against the real kernel, with a statically linked workload that
// makes a known number of one syscall (of a known duration where it sleeps): exact histograms.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, fixture, runToolSync, skipPrivileged, startTool, toolBin } from '@bpf-recipes/testing';
import { expectSleepBuckets, measured, tableBuckets } from './sleeps.js';

const COMM = 'syslatency-work'; // the fixture's name, as the kernel keeps it (15 characters)

interface Held { proc: ChildProcess; pid: number; tids: number[]; release(): Promise<void>; output(): string }
interface Line { comm?: string; pid?: number; tid?: number; syscall?: string; id?: number; unit: string; count: number; total_ns: number; buckets: { low: number; high: number | null; count: number }[]; time: string; interval_s?: number }

describe.skipIf(skipPrivileged())('syslatency on the real kernel', () => {
  let workload: string;
  beforeAll(() => {
    workload = fixture('syslatency-workload', ['-static', '-pthread']);
  });

  /** the workload, started and holding until release() (its threads' ids printed) */
  const held = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Held> =>
    new Promise((res, rej) => {
      const proc = spawn(workload, args, { env: { ...process.env, WORKLOAD_WAIT: '1', ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const closed = new Promise((r) => proc.on('close', r));
      proc.on('error', rej);
      proc.stdout!.on('data', (d) => {
        out += d;
        if (!/^ready$/m.test(out)) return;
        res({
          proc, pid: proc.pid!, tids: [...out.matchAll(/^tid (\d+)$/gm)].map((m) => Number(m[1])),
          release: async () => { proc.stdin!.end('go\n'); await closed; },
          output: () => out,
        });
      });
    });
  const json = (text: string): Line[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const total = (l: Line) => l.buckets.reduce((a, b) => a + b.count, 0);

  it('exactly N pwritev(2) calls of a process, under its comm (--json: buckets and count)', async () => {
    const w = await held(['pwritev', '25']);
    const tool = await startTool('syslatency', ['pwritev', '--json', '-p', String(w.pid)]);
    await w.release();
    await tool.stop('SIGINT');
    const lines = json(tool.stdout());
    expect(lines).toHaveLength(1);
    const [l] = lines;
    expect(l).toMatchObject({ comm: COMM, unit: 'us', count: 25 });
    expect(Object.keys(l).sort()).toEqual(['buckets', 'comm', 'count', 'time', 'total_ns', 'unit']);
    expect(total(l)).toBe(25);
    expect(l.total_ns).toBeGreaterThan(0);
    for (const b of l.buckets) {
      expect(b.count).toBeGreaterThan(0);
      expect(b.high === null || b.high === (b.low === 0 ? 1 : b.low * 2)).toBe(true);
    }
    expect(l.time).toMatch(/Z$/);
  });

  it('a 20 ms nanosleep(2) lands in [16K, 32K) microseconds, and in [16, 32) with -m', async () => {
    for (const [args, label, unit] of [[[], /^\[16K, 32K\)\s+5 \|@{52}\|$/m, 1], [['-m'], /^\[16, 32\)\s+5 \|@{52}\|$/m, 1000]] as const) {
      const w = await held(['nanosleep', '5', '20'], { WORKLOAD_TIMES: '1' });
      const tool = await startTool('syslatency', ['nanosleep', '-p', String(w.pid), ...args]);
      await w.release();
      await tool.stop();
      const text = tool.stdout();
      expect(text).toContain(`comm = ${COMM}, 5 calls, latency (${args.length ? 'msecs' : 'usecs'}):\n`);
      const slept = measured(w.output());
      expectSleepBuckets(tableBuckets(text), slept, 20_000, unit);
      // woken in time (the usual case; a busy machine may wake one late, a slot up): one bucket, all 5
      if (slept.every((us) => us < 32_000)) expect(text).toMatch(label);
    }
  });

  it('every syscall of a process, --by syscall: only the calls it made after attach, each counted once', async () => {
    // fork(): clone returns in the parent and in the child, counted once; the children _exit()
    const f = await held(['fork', '6']);
    // kill(getpid()) with a handler: each signal ends in rt_sigreturn (sys_exit under number -1)
    const s = await held(['signal', '4']);
    const tool = await startTool('syslatency', ['--by', 'syscall', '--json', '-p', `${f.pid},${s.pid}`]);
    await f.release();
    await s.release();
    await tool.stop();
    const by = Object.fromEntries(json(tool.stdout()).map((l) => [l.syscall, l.count]));
    // the go-line's read was entered before attach: not counted; exit_group never returns
    expect(by).toEqual({ clone: 6, wait4: 6, getpid: 4, kill: 4, rt_sigreturn: 4 });
    expect(json(tool.stdout()).find((l) => l.syscall === 'clone')).toMatchObject({ id: 56 });
  });

  it('on the classic raw_syscalls tracepoints (BPF_RECIPES_SYSCALL_HOOKS=tracepoint): the same exact counts', async () => {
    const f = await held(['fork', '5']);
    const s = await held(['signal', '3']);
    const n = await held(['nanosleep', '4', '20'], { WORKLOAD_TIMES: '1' });
    const tool = await startTool('syslatency', ['--by', 'syscall', '--json', '-v', '-p', `${f.pid},${s.pid},${n.pid}`], { env: { BPF_RECIPES_SYSCALL_HOOKS: 'tracepoint' } });
    expect(tool.stderr()).toMatch(/attached syslatency_tp_enter, syslatency_tp_exit/);
    await Promise.all([f.release(), s.release(), n.release()]);
    await tool.stop();
    const lines = json(tool.stdout());
    const counts: Record<string, number> = Object.fromEntries(lines.map((l) => [l.syscall, l.count]));
    // the sleeper times each sleep with two clock_gettime calls: answered in the vDSO, a real
    // syscall only where the clocksource has no vDSO path (a VM's under TCG, at times)
    if (counts.clock_gettime !== undefined) expect(counts.clock_gettime).toBe(2 * 4);
    delete counts.clock_gettime;
    expect(counts).toEqual({ clone: 5, wait4: 5, getpid: 3, kill: 3, rt_sigreturn: 3, nanosleep: 4, write: 1 }); // the sleeper prints its times in one write
    expectSleepBuckets(lines.find((l) => l.syscall === 'nanosleep')!.buckets, measured(n.output()), 20_000);
    const bad = spawnSync(toolBin('syslatency'), [], { encoding: 'utf8', env: { ...process.env, BPF_RECIPES_SYSCALL_HOOKS: 'kprobe' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^syslatency: BPF_RECIPES_SYSCALL_HOOKS=kprobe: give tp_btf or tracepoint/);
  });

  it('--by pid and -p: one histogram per process given, none for the other', async () => {
    const a = await held(['pwritev', '11']);
    const b = await held(['pwritev', '7']);
    const c = await held(['pwritev', '5']);
    const tool = await startTool('syslatency', ['pwritev', '--by', 'pid', '--json', '-p', `${a.pid},${b.pid}`]);
    await Promise.all([a.release(), b.release(), c.release()]);
    await tool.stop();
    const lines = json(tool.stdout()).map((l) => ({ pid: l.pid, comm: l.comm, count: l.count }));
    expect(lines).toEqual([{ pid: a.pid, comm: COMM, count: 11 }, { pid: b.pid, comm: COMM, count: 7 }]);
  });

  it('--by tid: one histogram per thread', async () => {
    const w = await held(['threads', '3', '4', '2']);
    expect(w.tids).toHaveLength(3);
    const tool = await startTool('syslatency', ['nanosleep', '--by', 'tid', '--json', '-p', String(w.pid)]);
    await w.release();
    await tool.stop();
    const by = Object.fromEntries(json(tool.stdout()).map((l) => [l.tid, l.count]));
    expect(by).toEqual(Object.fromEntries(w.tids.map((t) => [t, 4])));
  });

  it('-i prints the calls of each interval; they add up to the workload\'s', async () => {
    const w = await held(['nanosleep', '12', '100'], { WORKLOAD_TIMES: '1' });
    const tool = await startTool('syslatency', ['nanosleep', '--json', '-i', '0.4', '-p', String(w.pid)]);
    await w.release();
    await new Promise((r) => setTimeout(r, 500));
    await tool.stop();
    const lines = json(tool.stdout());
    expect(lines.length).toBeGreaterThanOrEqual(2); // 1.2 s of calls over 0.4 s intervals
    expect(lines.every((l) => typeof l.interval_s === 'number' && l.comm === COMM)).toBe(true);
    expect(lines.reduce((a, l) => a + l.count, 0)).toBe(12);
    // every call of 100 ms in [64K, 128K) us (or later, if woken late)
    const all = new Map<number, number>();
    for (const b of lines.flatMap((l) => l.buckets)) all.set(b.low, (all.get(b.low) ?? 0) + b.count);
    expectSleepBuckets([...all].map(([low, count]) => ({ low, count })), measured(w.output()), 100_000);
  });

  it('table mode with -i and -T: a [HH:MM:SS] line above each print; (no calls) when nothing happened', async () => {
    const tool = await startTool('syslatency', ['pwritev', '-T', '-i', '0.3', '-p', String(process.pid)]);
    await new Promise((r) => setTimeout(r, 800));
    await tool.stop();
    expect(tool.stdout()).toMatch(/^\[\d\d:\d\d:\d\d\]\n\(no calls\)\n\[\d\d:\d\d:\d\d\]\n\(no calls\)\n/);
  });

  it('-l prints the syscall table without tracing', () => {
    const r = runToolSync('syslatency', ['-l']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+296 pwritev$/m);
    expect(r.stderr).not.toMatch(/Tracing/);
  });

  cliConformance({
    tool: 'syslatency',
    args: ['-i', '0.2'],
    programs: 2,
    summary: /^\[\d\d:\d\d:\d\d\]$/m,
    drive: () => new Promise((r) => setTimeout(r, 100)),
    badInput: [['nosuchcall'], ['read', 'nosuchcall'], ['9999'], ['--by', 'x'], ['--by'], ['-i', 'abc'], ['-i', '-1'], ['-l', 'read'], ['-p', 'x']],
  });
});

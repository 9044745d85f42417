// Privileged: the real syscount against the real kernel. The workload is linked statically, so
// that no dynamic loader adds syscalls of its own: its counts are exact.
import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { syscallTable } from '@bpf-recipes/format';
import { cliConformance, fixture, runToolSync, skipPrivileged, startTool, uniquePath } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('syscount on the real kernel', () => {
  let workload: string;
  beforeAll(() => {
    workload = fixture('workload', ['-static']);
  });

  /** a workload that waits for a line on stdin before acting, so a tracer can be pointed at its pid */
  const held = (args: string[]): ChildProcess =>
    spawn(workload, args, { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
  const release = async (p: ChildProcess) => {
    p.stdin!.end('go\n');
    await new Promise((r) => p.on('close', r));
  };
  const byName = (o: { syscalls: { name: string }[] }) => Object.fromEntries(o.syscalls.map((s) => [s.name, s]));

  it('counts exactly N write(2) calls and M failing openat(2) calls of a process, by name, with its comm', async () => {
    const missing = uniquePath('syscount-missing');
    const w = held(['write', '25']);
    const f = held(['open', missing, '7']);
    const tool = await startTool('syscount', ['--json', '-p', `${w.pid},${f.pid}`]);
    await release(w);
    await release(f);
    await tool.stop('SIGINT');
    const [out, ...more] = tool.lines().map((l) => JSON.parse(l));
    expect(more).toEqual([]);
    const s = byName(out);
    expect(s.write).toMatchObject({ id: syscallTable().indexOf('write'), count: 25, errors: 0 });
    expect(s.openat).toMatchObject({ count: 8, errors: 7 }); // /dev/null once, the missing path 7 times
    expect(s.read).toMatchObject({ count: 2, errors: 0 }); // each read its go-line
    const procs = Object.fromEntries(out.processes.map((p: { pid: number }) => [p.pid, p]));
    expect(procs[w.pid]).toMatchObject({ comm: 'workload', count: 27, errors: 0 });
    expect(procs[f.pid]).toMatchObject({ comm: 'workload', count: 8, errors: 7 });
    expect(out.time).toMatch(/Z$/);
  });

  it('-x counts only failures, and -e ENOENT only that errno', async () => {
    for (const args of [['-x'], ['-e', 'ENOENT'], ['-e', '2']]) {
      const w = held(['open', uniquePath('syscount-x'), '5']);
      const tool = await startTool('syscount', ['--json', '-p', String(w.pid), ...args]);
      await release(w);
      await tool.stop();
      const out = JSON.parse(tool.lines()[0]);
      expect(out.syscalls, args.join(' ')).toEqual([{ name: 'openat', id: syscallTable().indexOf('openat'), count: 5, errors: 5 }]);
    }
    const w = held(['open', uniquePath('syscount-eacces'), '5']);
    const tool = await startTool('syscount', ['--json', '-p', String(w.pid), '-e', 'EACCES']);
    await release(w);
    await tool.stop();
    expect(JSON.parse(tool.lines()[0]).syscalls).toEqual([]);
  });

  it('-L and --hist: time per syscall and a log2 histogram, for --syscall write only', async () => {
    const w = held(['write', '40']);
    const tool = await startTool('syscount', ['--json', '-p', String(w.pid), '--syscall', 'write', '--hist']);
    await release(w);
    await tool.stop();
    const out = JSON.parse(tool.lines()[0]);
    expect(out.syscalls).toHaveLength(1);
    expect(out.syscalls[0]).toMatchObject({ name: 'write', count: 40, errors: 0 });
    expect(out.syscalls[0].total_ns).toBeGreaterThan(0);
    const hist: number[] = out.latency_hist_us.write;
    expect(hist.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('table mode: both sections, -L columns, and -P for processes only', async () => {
    const w = held(['write', '12']);
    const tool = await startTool('syscount', ['-p', String(w.pid), '-L', '-m']);
    await release(w);
    await tool.stop();
    const text = tool.stdout();
    expect(text).toMatch(/^SYSCALL\s+COUNT\s+ERRORS\s+TOTAL\(ms\)\s+AVG\(ms\)$/m);
    expect(text).toMatch(/^write\s+12\s+0\s+\d+\.\d{3}\s+\d+\.\d{3}$/m);
    expect(text).toMatch(new RegExp(`^\\s*PID\\s+COMM\\s+COUNT\\s+ERRORS\\s+TOTAL\\(ms\\)\\s+AVG\\(ms\\)$`, 'm'));
    // with -L a call already under way at attach (the workload's blocking read) has no start time: 1 openat + 12 writes
    expect(text).toMatch(new RegExp(`^\\s*${w.pid}\\s+workload\\s+13\\s+0\\s`, 'm'));

    const w2 = held(['write', '3']);
    const t2 = await startTool('syscount', ['-p', String(w2.pid), '-P']);
    await release(w2);
    await t2.stop();
    expect(t2.stdout()).not.toMatch(/SYSCALL/);
    expect(t2.stdout()).toMatch(new RegExp(`^\\s*${w2.pid}\\s+workload\\s+5\\s+0$`, 'm'));
  });

  it('-i prints each interval with the calls since the last one; they add up', async () => {
    const w = held(['write', '30']);
    const tool = await startTool('syscount', ['--json', '-i', '0.3', '-p', String(w.pid), '--syscall', 'write']);
    await new Promise((r) => setTimeout(r, 700));
    await release(w);
    await new Promise((r) => setTimeout(r, 700));
    await tool.stop();
    const outs = tool.lines().map((l) => JSON.parse(l));
    expect(outs.length).toBeGreaterThanOrEqual(3);
    expect(outs.every((o) => typeof o.interval_s === 'number')).toBe(true);
    const total = outs.flatMap((o) => o.syscalls).reduce((a: number, s: { count: number }) => a + s.count, 0);
    expect(total).toBe(30);
  });

  it('-i 0 means what it means to libbpf-tools syscount: no interval, one summary at the end', async () => {
    const w = held(['write', '12']);
    const tool = await startTool('syscount', ['--json', '-i', '0', '-p', String(w.pid), '--syscall', 'write']);
    await release(w);
    await new Promise((r) => setTimeout(r, 500));
    const { code } = await tool.stop();
    expect(code).toBe(0);
    const outs = tool.lines().map((l) => JSON.parse(l));
    expect(outs).toHaveLength(1);
    expect(outs[0].interval_s).toBeUndefined();
    expect(outs[0].syscalls).toEqual([{ name: 'write', id: syscallTable().indexOf('write'), count: 12, errors: 0 }]);
  });

  it('-l prints the syscall table without tracing', () => {
    const r = runToolSync('syscount', ['-l']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+0 read$/m);
    expect(r.stdout).toMatch(/^\s+257 openat$/m);
  });

  cliConformance({
    tool: 'syscount',
    args: ['-i', '0.2'],
    programs: 2,
    summary: /^SYSCALL\s+COUNT\s+ERRORS$/m,
    drive: () => new Promise((r) => setTimeout(r, 100)),
    badInput: [['--top', 'x'], ['-e', 'ENOPE'], ['--syscall', 'nosuchcall'], ['-i', 'abc'], ['-i', '-1'], ['--bogus']],
  });
});

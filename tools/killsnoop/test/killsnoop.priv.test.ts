// Privileged: the real killsnoop on the real kernel, with signals the test sends itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, fixture, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('killsnoop on the real kernel', () => {
  let kw: string;
  beforeAll(() => {
    kw = fixture('killsnoop-workload');
  });
  const sleeper = (): ChildProcess & { done: Promise<unknown> } => {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' }) as ChildProcess & { done: Promise<unknown> };
    c.done = new Promise((r) => c.on('close', (code, sig) => r(sig)));
    return c;
  };
  const json = (lines: string[]) => lines.map((l) => JSON.parse(l));

  it('kill(2) of a sleeping child with SIGTERM: sender, target, signal and result exactly', async () => {
    const child = sleeper();
    const tool = await startTool('killsnoop', ['--json', '--tpid', String(child.pid)]);
    const s = await run(kw, ['kill', String(child.pid), '15']);
    expect(s.stdout).toBe('0 0\n');
    expect(await child.done).toBe('SIGTERM');
    await tool.waitForLine(/"sig":15/);
    await tool.stop();
    const ev = json(tool.lines());
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ pid: s.pid, tid: s.pid, comm: 'killsnoop-workl', sig: 15, sig_name: 'SIGTERM', tpid: child.pid, tcomm: 'sleep', result: 0, syscall: 'kill' });
    expect(ev[0].time).toMatch(/Z$/);
  });

  it('sigqueue of a real-time signal, tgkill, and pidfd_send_signal', async () => {
    const a = sleeper();
    const b = sleeper();
    const c = sleeper();
    const tool = await startTool('killsnoop', ['--json', '-n', 'killsnoop-work']);
    const q = await run(kw, ['sigqueue', String(a.pid), '37', '7']);
    const t = await run(kw, ['tgkill', String(b.pid), String(b.pid), '10']);
    const p = await run(kw, ['pidfd', String(c.pid), '9']);
    await Promise.all([a.done, b.done, c.done]);
    await tool.waitForLine(/pidfd_send_signal/);
    await tool.stop();
    const ev = json(tool.lines());
    expect(ev.find((e) => e.pid === q.pid)).toMatchObject({ sig: 37, sig_name: 'SIGRTMIN+3', tpid: a.pid, tcomm: 'sleep', result: 0, syscall: 'rt_sigqueueinfo' });
    expect(ev.find((e) => e.pid === t.pid)).toMatchObject({ sig: 10, sig_name: 'SIGUSR1', tpid: b.pid, tgid: b.pid, tcomm: 'sleep', result: 0, syscall: 'tgkill' });
    expect(ev.find((e) => e.pid === p.pid)).toMatchObject({ sig: 9, sig_name: 'SIGKILL', tpid: c.pid, tcomm: 'sleep', result: 0, syscall: 'pidfd_send_signal' });
    expect(ev).toHaveLength(3);
  });

  it('a kill of a missing pid shows RESULT -3 (ESRCH), and -x shows only failures', async () => {
    const child = sleeper();
    const tool = await startTool('killsnoop', ['--json', '-x', '-n', 'killsnoop-work']);
    const ok = await run(kw, ['kill', String(child.pid), '15']);
    const bad = await run(kw, ['kill', '4194300', '15']);
    expect(bad.stdout).toBe('-1 3\n');
    await child.done;
    await tool.waitForLine(/"result":-3/);
    await tool.stop();
    const ev = json(tool.lines());
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ pid: bad.pid, tpid: 4194300, tcomm: '?', result: -3, errno: 'ESRCH' });
    expect(ev.some((e) => e.pid === ok.pid)).toBe(false);
  });

  it('table and --sentence forms', async () => {
    const child = sleeper();
    const tool = await startTool('killsnoop', ['--tpid', String(child.pid)]);
    const s = await run(kw, ['kill', String(child.pid), '15']);
    await child.done;
    await tool.waitForLine(/SIGTERM/);
    await tool.stop();
    const [header, row] = tool.lines();
    expect(header.split(/\s+/)).toEqual(['TIME', 'PID', 'COMM', 'SIG', 'TPID', 'TCOMM', 'RESULT']);
    expect(row.split(/\s+/)).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3}$/), String(s.pid), 'killsnoop-workl', 'SIGTERM', String(child.pid), 'sleep', '0']);

    const c2 = sleeper();
    const t2 = await startTool('killsnoop', ['--sentence', '--tpid', String(c2.pid)]);
    const s2 = await run(kw, ['kill', String(c2.pid), '15']);
    await c2.done;
    await t2.waitForLine(/sent signal/);
    await t2.stop();
    expect(t2.lines()).toEqual([`killsnoop-workl (${s2.pid}) sent signal 15 (SIGTERM) to PID ${c2.pid} (sleep)`]);
  });

  it('kill(2) of a process group: TPID -PGID and the group as TCOMM, not the comm of its first member', async () => {
    const group = spawn('sh', ['-c', 'sleep 60 & sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    const done = new Promise((r) => group.on('close', r));
    await new Promise((r) => setTimeout(r, 200)); // both sleeps started
    const pgid = group.pid!;
    const tool = await startTool('killsnoop', ['--json', '-n', 'killsnoop-work']);
    const t2 = await startTool('killsnoop', ['--sentence', '-n', 'killsnoop-work']);
    const k = await run(kw, ['kill', String(-pgid), '15']);
    expect(k.stdout).toBe('0 0\n');
    await done;
    await tool.waitForLine(/"sig":15/);
    await t2.waitForLine(/sent signal 15/);
    await tool.stop();
    await t2.stop();
    const ev = json(tool.lines());
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ pid: k.pid, sig: 15, tpid: -pgid, tcomm: `(group ${pgid})`, result: 0, syscall: 'kill' });
    expect(t2.lines()).toEqual([`killsnoop-workl (${k.pid}) sent signal 15 (SIGTERM) to process group ${pgid}`]);
  });

  it('a failed pidfd_send_signal: the target is unknown ("?"), not the sender\'s own group', async () => {
    const c = sleeper();
    const tool = await startTool('killsnoop', ['-n', 'killsnoop-work']);
    const p = await run(kw, ['pidfd', String(c.pid), '99']);
    expect(p.stdout).toBe('-1 22\n');
    await tool.waitForLine(/\s-22$/);
    await tool.stop();
    c.kill('SIGKILL');
    await c.done;
    const row = tool.lines().find((l) => /\s-22$/.test(l))!;
    expect(row.split(/\s+/)).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3}$/), String(p.pid), 'killsnoop-workl', 'SIG99', '?', '?', '-22']);
  });

  it('-s filters signals in the kernel (names, numbers, RT)', async () => {
    const a = sleeper();
    const b = sleeper();
    const tool = await startTool('killsnoop', ['--json', '-n', 'killsnoop-work', '-s', 'USR2,RTMIN+3']);
    await run(kw, ['kill', String(a.pid), '15']);
    await run(kw, ['sigqueue', String(b.pid), '37', '1']);
    await Promise.all([a.done, b.done]);
    await tool.waitForLine(/SIGRTMIN\+3/);
    await tool.stop();
    expect(json(tool.lines()).map((e) => e.sig)).toEqual([37]);
  });

  it('-a sees a segfault: SIGSEGV, SEGV_MAPERR, from the faulting task to itself', async () => {
    const tool = await startTool('killsnoop', ['--json', '-a', '-n', 'killsnoop-work']);
    const s = await run(kw, ['segv']);
    expect(s.code).toBeNull();
    await tool.waitForLine(/SIGSEGV/);
    await tool.stop();
    const seg = json(tool.lines()).filter((e) => e.sig === 11);
    expect(seg).toHaveLength(1);
    expect(seg[0]).toMatchObject({ pid: s.pid, tpid: s.pid, comm: 'killsnoop-workl', tcomm: 'killsnoop-workl', code_name: 'SEGV_MAPERR', result: 'delivered', syscall: 'signal_generate' });
  });

  cliConformance({
    tool: 'killsnoop',
    programs: 13,
    drive: () => run(kw, ['kill', '4194300', '0']),
    badInput: [['-s', 'NOPE'], ['-s', '99'], ['--tpid', 'x'], ['--bogus']],
  });
});

// Differential (privileged): killsnoop and `strace -e trace=kill,tkill,tgkill,rt_sigqueueinfo,...`
// watch the same run of a workload that sends known signals to its child by every syscall
// killsnoop knows (one of them to a pid that cannot exist). Both keep to the workload's pid,
// held on stdin until both are attached; the workload prints what each call returned.
import { mkdtempSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, parseStraceCalls, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';

interface Ev { pid: number; tid: number; sig: number; sig_name: string; tpid: number | null; result: number; syscall: string }

const SYSCALLS = ['kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'pidfd_send_signal'];
const ERRNO: Record<string, number> = { ESRCH: 3, EPERM: 1, EINVAL: 22 };
const signo = (name: string) => (constants.signals as Record<string, number>)[name];

describe.skipIf(skipPrivileged())('killsnoop agrees with strace', () => {
  let workload: string;
  let dir: string;
  beforeAll(() => {
    workload = fixture('oracle-workload');
    dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-oracle-kill-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the same calls, signals, targets and results, in order, as the workload reports them', async () => {
    const w = watch(workload, ['signals'], { env: { ORACLE_WAIT: '1' }, stdin: 'pipe' });
    const pid = w.proc.pid!;
    const ours = await startTool('killsnoop', ['--json', '-p', String(pid)]);
    const out = join(dir, 'strace.out');
    const strace = watch('strace', ['-p', String(pid), '-e', `trace=${SYSCALLS.join(',')}`, '-o', out]);
    await strace.waitFor(/Process \d+ attached/);
    w.proc.stdin!.end('go\n');
    expect(await w.exited).toBe(0);
    await strace.exited;
    await ours.stop();

    // the workload's own account: call, target, signal, result (0 or -errno)
    const told = w.stdout().trim().split('\n').map((l) => {
      const [call, tpid, sig, result] = l.split(' ');
      return { call, tpid: Number(tpid), sig: Number(sig), result: Number(result) };
    });
    expect(told.map((t) => t.call)).toEqual(['kill', 'tkill', 'tgkill', 'sigqueue', 'pidfd_send_signal', 'kill', 'kill']);
    expect(told.map((t) => t.result)).toEqual([0, 0, 0, 0, 0, -3, 0]);

    const ev: Ev[] = ours.lines().map((l) => JSON.parse(l));
    expect(ev.every((e) => e.pid === pid && e.tid === pid)).toBe(true);
    expect(ev.map((e) => ({ tpid: e.tpid, sig: e.sig, result: e.result }))).toEqual(told.map(({ tpid, sig, result }) => ({ tpid, sig, result })));

    // strace: the syscall, its signal (by name), its target (the pid argument; for tgkill the
    // thread, as killsnoop shows it; a pidfd carries none) and its result
    const st = parseStraceCalls(out, { pidColumn: false }).map((c) => {
      const args = c.args.split(', ');
      const sigArg = c.name === 'tgkill' ? args[2] : args[1];
      const tpid = c.name === 'tgkill' ? Number(args[1]) : c.name === 'pidfd_send_signal' ? null : Number(args[0]);
      return { syscall: c.name, sig: signo(sigArg), tpid, result: c.errno ? -ERRNO[c.errno] : c.ret };
    });
    expect(st.map((c) => c.syscall)).toEqual(['kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'pidfd_send_signal', 'kill', 'kill']);
    expect(ev.map((e) => ({ syscall: e.syscall, sig: e.sig, tpid: e.syscall === 'pidfd_send_signal' ? null : e.tpid, result: e.result }))).toEqual(st);
    expect(ev.map((e) => e.sig_name)).toEqual(st.map((c) => Object.keys(constants.signals).find((k) => signo(k) === c.sig)));
  });
});

// Privileged: killsnoop as a library (trace()), against the real kernel: the records the command
// prints, break detaching, two traces at once, typed errors with nothing attached.
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { KsSource, UsageError, trace, type KillsnoopRecord } from '@bpf-recipes/killsnoop';
import { fixture, heldPrograms, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

const sleeper = (): ChildProcess & { done: Promise<unknown> } => {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' }) as ChildProcess & { done: Promise<unknown> };
  c.done = new Promise((r) => c.on('close', (_code, sig) => r(sig)));
  return c;
};

/** Records of a trace until `n` matched `want` (or the deadline closed it). */
async function collect(t: AsyncIterable<KillsnoopRecord> & { close(): Promise<void> }, want: (r: KillsnoopRecord) => boolean, n: number, ms = 10000): Promise<KillsnoopRecord[]> {
  const got: KillsnoopRecord[] = [];
  const deadline = setTimeout(() => void t.close(), ms);
  for await (const r of t) {
    if (want(r)) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe('the generated enum', () => {
  it('KsSource holds bpf/killsnoop.h\'s values', () => {
    expect([KsSource.KS_KILL, KsSource.KS_PIDFD_SEND_SIGNAL, KsSource.KS_GENERATE]).toEqual([0, 5, 6]);
  });
});

describe.skipIf(skipPrivileged())('killsnoop as a library', () => {
  it('kill, sigqueue, tgkill and pidfd_send_signal: the records killsnoop --json prints, field for field', async () => {
    const kw = fixture('killsnoop-workload');
    const [a, b, c, d] = [sleeper(), sleeper(), sleeper(), sleeper()];
    const cli = await startTool('killsnoop', ['--json', '-n', 'killsnoop-work']);
    const t = trace({ name: 'killsnoop-work' });
    const k = await run(kw, ['kill', String(a.pid), '15']);
    const q = await run(kw, ['sigqueue', String(b.pid), '37', '7']);
    const g = await run(kw, ['tgkill', String(c.pid), String(c.pid), '10']);
    const p = await run(kw, ['pidfd', String(d.pid), '9']);
    await Promise.all([a.done, b.done, c.done, d.done]);
    const senders = new Set([k.pid, q.pid, g.pid, p.pid]);
    const records = await collect(t, (r) => senders.has(r.pid), 4);
    await cli.waitForLine(/pidfd_send_signal/);
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as KillsnoopRecord).filter((r) => senders.has(r.pid));
    expect(records.map((r) => [r.pid, r.syscall, r.sig, r.tpid, r.tcomm, r.result])).toEqual([
      [k.pid, 'kill', 15, a.pid, 'sleep', 0],
      [q.pid, 'rt_sigqueueinfo', 37, b.pid, 'sleep', 0],
      [g.pid, 'tgkill', 10, c.pid, 'sleep', 0],
      [p.pid, 'pidfd_send_signal', 9, d.pid, 'sleep', 0],
    ]);
    expect(records[2].tgid).toBe(c.pid);
    expect(records[3].pidfd).toBeGreaterThanOrEqual(3);
    // each object stamps its own exit: the time may differ by a ms; the rest is the command's line
    const sansTime = ({ time, ...r }: KillsnoopRecord) => (void time, r);
    expect(records.map(sansTime)).toEqual(lines.map(sansTime));
    expect(Object.keys(records[0])).toEqual(Object.keys(lines[0]));
    expect(t.lost).toBe(0);
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const a = sleeper();
    const t = trace({ tpid: a.pid! });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const k = await run(fixture('killsnoop-workload'), ['kill', String(a.pid), '15']);
    const got = await collect(t, (r) => r.pid === k.pid, 1);
    expect(got.map((r) => [r.sig_name, r.tpid])).toEqual([['SIGTERM', a.pid]]);
    expect(heldPrograms(process.pid).length).toBe(before);
    expect((await t.next()).done).toBe(true);
  });

  it('two traces at once: -a with only SIGUSR2 beside the syscalls with only failures', async () => {
    const kw = fixture('killsnoop-workload');
    const generated = trace({ allSignals: true, signal: ['USR2'], name: 'killsnoop-work' });
    const failed = trace({ failed: true, name: 'killsnoop-work' });
    const a = sleeper();
    const ok = await run(kw, ['kill', String(a.pid), '12']); // SIGUSR2: generated, delivered, not failed
    const bad = await run(kw, ['kill', '4194000', '15']); // ESRCH: failed, nothing generated
    await a.done;
    const seen = async (t: ReturnType<typeof trace>) => {
      const out: KillsnoopRecord[] = [];
      setTimeout(() => void t.close(), 1000);
      for await (const r of t) if (r.pid === ok.pid || r.pid === bad.pid) out.push(r);
      return out;
    };
    const [g, f] = await Promise.all([seen(generated), seen(failed)]);
    expect(g.map((r) => [r.pid, r.syscall, r.sig_name, r.tpid, r.result, r.code_name])).toEqual([[ok.pid, 'signal_generate', 'SIGUSR2', a.pid, 'delivered', 'SI_USER']]);
    expect(f.map((r) => [r.pid, r.syscall, r.tpid, r.result, r.errno])).toEqual([[bad.pid, 'kill', 4194000, -3, 'ESRCH']]);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ signal: ['NOPE'] })).toThrow(UsageError);
    expect(() => trace({ signal: [] })).toThrow(/--signal: give at least one signal/);
    expect(() => trace({ tpid: 0 })).toThrow(/--tpid/);
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});

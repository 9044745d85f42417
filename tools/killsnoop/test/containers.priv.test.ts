// Privileged: killsnoop inside its own PID namespace (unshare -pf --mount-proc): senders and
// targets are numbered as the namespace numbers them, and --tpid takes such a number.
import { describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('killsnoop inside a PID namespace', () => {
  it('sender PID and target PID as the namespace sees them (kill, pidfd_send_signal, -a with --tpid)', async () => {
    const kw = fixture('killsnoop-workload');
    const r = await inNamespaces('killsnoop', `
      sleep 30 & T1=$!
      sleep 30 & T2=$!
      sleep 30 & T3=$!
      sleep 30 & T4=$!
      start_tool --json
      sh -c 'echo $$ >"$D/s1"; exec "$KW" kill "$1" 15' s "$T1" >/dev/null
      sh -c 'echo $$ >"$D/s2"; exec "$KW" pidfd "$1" 9' s "$T2" >/dev/null
      stop_tool
      start_tool --json -a --tpid "$T3"
      sh -c 'echo $$ >"$D/s3"; exec "$KW" kill "$1" 10' s "$T3" >/dev/null
      sh -c 'exec "$KW" kill "$1" 10' s "$T4" >/dev/null
      stop_tool
      echo "$T1 $T2 $T3 $T4 $(cat "$D/s1") $(cat "$D/s2") $(cat "$D/s3")"
    `, { env: { KW: kw } });
    try {
      const [t1, t2, t3, t4, s1, s2, s3] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(t1, t2, t3, t4, s1, s2, s3)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      // the workloads' signals (not the script's kill -0 / kill -INT of the tool)
      const events = jsonLines(r.out).filter((e) => e.comm === 'killsnoop-workl');
      const kill = events.filter((e) => e.syscall === 'kill');
      expect(kill).toHaveLength(1);
      expect(kill[0]).toMatchObject({ pid: s1, tid: s1, sig: 15, tpid: t1, tcomm: 'sleep', result: 0 });
      const pidfd = events.filter((e) => e.syscall === 'pidfd_send_signal');
      expect(pidfd).toHaveLength(1);
      expect(pidfd[0]).toMatchObject({ pid: s2, sig: 9, tpid: t2, tcomm: 'sleep', result: 0 });
      // -a: signal_generate's target is the task itself, translated; --tpid T3 keeps only it
      const gen = events.filter((e) => e.syscall === 'signal_generate');
      expect(gen).toHaveLength(1);
      expect(gen[0]).toMatchObject({ pid: s3, tid: s3, sig: 10, tpid: t3, tcomm: 'sleep', result: 'delivered' });
      expect(events.some((e) => e.tpid === t4)).toBe(false);
    } finally {
      r.cleanup();
    }
  });
});

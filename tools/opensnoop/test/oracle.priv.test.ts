// Differential (privileged): opensnoop, libbpf-tools' opensnoop and `strace -e trace=open,openat,openat2`
// watch the same run of a workload that opens files that exist, are missing and are not
// directories, through open, openat and openat2. All of them keep to the workload's pid (held on
// stdin until every tracer is attached), so other processes opening files change nothing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, interrupt, libbpfTool, parseStraceCalls, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';

interface Ev { pid: number; call: string; path: string; fd: number; err: number; errno: string | null; flags: number }

const ERRNO: Record<string, number> = { ENOENT: 2, ENOTDIR: 20, EACCES: 13 };

describe.skipIf(skipPrivileged())('opensnoop agrees with libbpf-tools opensnoop and strace', () => {
  let workload: string;
  let peer: string;
  let dir: string;
  beforeAll(async () => {
    workload = fixture('oracle-workload');
    peer = await libbpfTool('opensnoop');
    dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-oracle-open-'));
  }, 300000); // libbpfTool may wait out the .deb test
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (peer) rmSync(dirname(peer), { recursive: true, force: true }); // the private copy
  });

  it('the same opens, paths, fds and errors, in the same order, as the workload reports them', async () => {
    const w = watch(workload, ['opens', dir], { env: { ORACLE_WAIT: '1' }, stdin: 'pipe' });
    const pid = w.proc.pid!;
    const ours = await startTool('opensnoop', ['--json', '-p', String(pid)]);
    // line-buffered, so its header (printed once attached) tells that it traces
    const theirs = watch('stdbuf', ['-oL', peer, '-e', '-p', String(pid)]);
    await theirs.waitFor(/^PID\s+COMM\s+FD\s+ERR\s+FLAGS\s+PATH$/m);
    const straceOut = join(dir, 'strace.out');
    const strace = watch('strace', ['-p', String(pid), '-e', 'trace=open,openat,openat2', '-s', '4096', '-o', straceOut]);
    await strace.waitFor(/Process \d+ attached/);

    w.proc.stdin!.end('go\n');
    expect(await w.exited).toBe(0);
    await strace.exited; // it ends with its tracee
    await ours.stop();
    await interrupt(theirs);

    // what the workload itself saw: "fd path" or "-errno path", in order
    const reported = w.stdout().trim().split('\n').map((l) => {
      const [r, path] = l.split(' ');
      const n = Number(r);
      return { path, fd: n >= 0 ? n : -1, err: n >= 0 ? 0 : -n };
    });
    expect(reported).toHaveLength(7);
    expect(reported.filter((r) => r.err === 0)).toHaveLength(3);

    const ev: Ev[] = ours.lines().map((l) => JSON.parse(l));
    expect(ev.every((e) => e.pid === pid)).toBe(true);
    expect(ev.map((e) => ({ path: e.path, fd: e.fd, err: e.err }))).toEqual(reported);
    expect(ev.map((e) => e.call)).toEqual(['openat', 'open', 'openat', 'openat2', 'openat2', 'open', 'openat']);

    // strace: the call, the path it was given, the fd or -1 and the errno
    const st = parseStraceCalls(straceOut, { pidColumn: false }).map((c) => ({
      call: c.name,
      path: /"((?:[^"\\]|\\.)*)"/.exec(c.args)![1],
      fd: c.ret,
      err: c.errno ? ERRNO[c.errno] : 0,
    }));
    expect(ev.map((e) => ({ call: e.call, path: e.path, fd: e.fd, err: e.err }))).toEqual(st);
    expect(ev.filter((e) => e.err).map((e) => e.errno)).toEqual(parseStraceCalls(straceOut, { pidColumn: false }).filter((c) => c.errno).map((c) => c.errno));

    // libbpf-tools 0.26 traces openat, and open only where it finds the tracepoint under
    // /sys/kernel/debug/tracing (it does not look in /sys/kernel/tracing); never openat2.
    // Its columns: PID COMM FD ERR FLAGS(octal) PATH
    const peerSeesOpen = existsSync('/sys/kernel/debug/tracing/events/syscalls/sys_enter_open');
    const peerCalls = peerSeesOpen ? ['open', 'openat'] : ['openat'];
    expect(theirs.stderr()).not.toMatch(/Lost/);
    const rows = theirs.stdout().trim().split('\n').slice(1).map((l) => {
      const [p, , fd, err, flags, ...path] = l.trim().split(/\s+/);
      return { pid: Number(p), path: path.join(' '), fd: Number(fd), err: Number(err), flags: parseInt(flags, 8) };
    });
    expect(rows).toEqual(ev.filter((e) => peerCalls.includes(e.call)).map((e) => ({ pid: e.pid, path: e.path, fd: e.fd, err: e.err, flags: e.flags })));
  });
});

// Privileged: the real gethostlatency with uprobes on the real libc, against lookups the test makes.
// No lookup leaves the machine: names come from /etc/hosts; the failing one uses AI_NUMERICHOST.
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, fixture, run, runToolSync, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('gethostlatency on the real kernel', () => {
  let gw: string;
  beforeAll(() => {
    gw = fixture('gethostlatency-workload');
  });
  const json = (lines: string[]) => lines.map((l) => JSON.parse(l));

  it('N getaddrinfo("localhost") and one that cannot resolve give exactly N+1 events of that pid', async () => {
    const tool = await startTool('gethostlatency', ['--json', '-e']);
    const ok = await run(gw, ['getaddrinfo', 'localhost', '5']);
    expect(ok.stdout).toBe('0\n'.repeat(5));
    const bad = await run(gw, ['numeric-fail', 'no-such-host.invalid']);
    expect(bad.stdout).toBe('-2\n');
    await tool.waitForLine(/no-such-host/);
    await tool.stop();
    const ev = json(tool.lines());
    const mine = ev.filter((e) => e.pid === ok.pid);
    expect(mine).toHaveLength(5);
    for (const e of mine) {
      expect(e).toMatchObject({ tid: ok.pid, comm: 'gethostlatency-', func: 'getaddrinfo', host: 'localhost', ret: 0, ret_name: '0' });
      expect(e.addrs).toContain('127.0.0.1');
      expect(e.latency_us).toBeGreaterThan(0);
      expect(e.latency_us).toBeLessThan(5e6);
    }
    expect(ev.filter((e) => e.pid === bad.pid)).toEqual([expect.objectContaining({ func: 'getaddrinfo', host: 'no-such-host.invalid', ret: -2, ret_name: 'EAI_NONAME' })]);
  });

  it('gethostbyname and the _r variants are timed once each (not twice through glibc\'s internal calls)', async () => {
    const tool = await startTool('gethostlatency', ['--json', '-e', '-n', 'gethostlatency']);
    const a = await run(gw, ['gethostbyname', 'localhost']);
    const b = await run(gw, ['gethostbyname_r', 'localhost']);
    const c = await run(gw, ['gethostbyname2_r', 'localhost']);
    await tool.waitForLine(new RegExp(`"pid":${c.pid}`));
    await tool.stop();
    const ev = json(tool.lines());
    expect(ev.filter((e) => e.pid === a.pid)).toEqual([expect.objectContaining({ func: 'gethostbyname', host: 'localhost', ret: 0, addrs: ['127.0.0.1'] })]);
    expect(ev.filter((e) => e.pid === b.pid)).toEqual([expect.objectContaining({ func: 'gethostbyname_r', host: 'localhost', ret: 0, addrs: ['127.0.0.1'] })]);
    expect(ev.filter((e) => e.pid === c.pid)).toEqual([expect.objectContaining({ func: 'gethostbyname2_r', host: 'localhost', ret: 0, addrs: ['127.0.0.1'] })]);
  });

  it("python's socket.getaddrinfo is seen", async () => {
    const tool = await startTool('gethostlatency', ['--json']);
    const py = await run('python3', ['-c', "import socket; socket.getaddrinfo('localhost', 80)"]);
    expect(py.code).toBe(0);
    await tool.waitForLine(new RegExp(`"pid":${py.pid}`));
    await tool.stop();
    expect(json(tool.lines()).filter((e) => e.pid === py.pid)).toEqual([expect.objectContaining({ func: 'getaddrinfo', host: 'localhost', ret: 0 })]);
  });

  it("python's socket.gethostbyaddr (gethostbyaddr_r) is seen, with the address asked about, zero bytes included", async () => {
    const tool = await startTool('gethostlatency', ['--json', '-e']);
    const py = await run('python3', ['-c', "import socket; print(socket.gethostbyaddr('127.0.0.1')[0])"]);
    expect(py.code).toBe(0);
    await tool.waitForLine(new RegExp(`"pid":${py.pid},[^\\n]*gethostbyaddr`));
    await tool.stop();
    expect(json(tool.lines()).filter((e) => e.pid === py.pid && String(e.func).startsWith('gethostbyaddr'))).toEqual([
      expect.objectContaining({ func: 'gethostbyaddr_r', host: '127.0.0.1', ret: 0, ret_name: '0', addrs: ['127.0.0.1'] }),
    ]);
  });

  it('a gethostbyname2 that returns NULL shows the h_errno its nested _r call set, not just NULL', async () => {
    // AF_UNIX is no address family for hosts: glibc answers NULL without asking any server
    const py = [
      'import ctypes',
      "libc = ctypes.CDLL('libc.so.6')",
      'libc.gethostbyname2.restype = ctypes.c_void_p',
      'libc.__h_errno_location.restype = ctypes.POINTER(ctypes.c_int)',
      "r = libc.gethostbyname2(b'localhost', 1)",
      'print(r is None, libc.__h_errno_location()[0])',
    ].join('\n');
    const tool = await startTool('gethostlatency', ['--json']);
    const w = await run('python3', ['-c', py]);
    const [isNull, herrno] = w.stdout.trim().split(' ');
    expect(isNull).toBe('True');
    await tool.waitForLine(new RegExp(`"pid":${w.pid},[^\\n]*gethostbyname2`));
    await tool.stop();
    const names: Record<string, string> = { 1: 'HOST_NOT_FOUND', 2: 'TRY_AGAIN', 3: 'NO_RECOVERY', 4: 'NO_DATA' };
    expect(names[herrno]).toBeDefined();
    expect(json(tool.lines()).filter((e) => e.pid === w.pid)).toEqual([
      expect.objectContaining({ func: 'gethostbyname2', host: 'localhost', ret: -1, ret_name: names[herrno] }),
    ]);
  });

  it('-p attaches to that process\'s own libc (through /proc/PID/root) and only sees it', async () => {
    const target = spawn(gw, ['getaddrinfo', 'localhost', '3'], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
    const tool = await startTool('gethostlatency', ['--json', '-p', String(target.pid), '-v']);
    expect(tool.stderr()).toMatch(new RegExp(`attached getaddrinfo in /proc/${target.pid}/root/`));
    const other = await run(gw, ['getaddrinfo', 'localhost', '2']);
    target.stdin!.end('go\n');
    await new Promise((r) => target.on('close', r));
    await tool.waitForLine(new RegExp(`"pid":${target.pid}`));
    await new Promise((r) => setTimeout(r, 200));
    await tool.stop();
    const ev = json(tool.lines());
    expect(ev.filter((e) => e.pid === target.pid)).toHaveLength(3);
    expect(ev.some((e) => e.pid === other.pid)).toBe(false);
  });

  it('table columns, and --min-latency filters in the kernel', async () => {
    const tool = await startTool('gethostlatency', []);
    const w = await run(gw, ['getaddrinfo', 'localhost', '1']);
    await tool.waitForLine(new RegExp(`^\\S+\\s+${w.pid}\\s`));
    await tool.stop();
    const [header, ...rows] = tool.lines();
    expect(header.split(/\s+/)).toEqual(['TIME', 'PID', 'COMM', 'LATms', 'RET', 'HOST']);
    const row = rows.find((r) => r.includes(` ${w.pid} `))!.trim().split(/\s+/);
    expect(row.slice(1)).toEqual([String(w.pid), 'gethostlatency-', expect.stringMatching(/^\d+\.\d{3}$/), '0', 'localhost']);

    const slow = await startTool('gethostlatency', ['--json', '--min-latency', '10000']);
    await run(gw, ['getaddrinfo', 'localhost', '3']);
    await new Promise((r) => setTimeout(r, 300));
    await slow.stop();
    expect(slow.lines()).toEqual([]);
  });

  cliConformance({
    tool: 'gethostlatency',
    programs: 8, // 5 entry programs, the return program, the thread exit/exec cleanup
    drive: () => run(gw, ['getaddrinfo', 'localhost', '1']),
    badInput: [['--min-latency', 'x'], ['--libc', '/nonexistent/libc.so.6'], ['-p', 'x'], ['--bogus']],
  });

  it('a PID without libc: one line, exit 1', () => {
    const r = runToolSync('gethostlatency', ['-p', '4194300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gethostlatency: PID 4194300 has no libc.so.6 mapped (is it running, and dynamically linked?)\n');
  });
});

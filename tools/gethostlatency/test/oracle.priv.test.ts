// Differential (privileged): gethostlatency and libbpf-tools' gethostlatency watch the same run of
// a workload that makes known lookups (getaddrinfo, a failing getaddrinfo, gethostbyname,
// gethostbyname2_r; names from /etc/hosts, nothing leaves the machine). Both keep to the
// workload's pid (held on stdin until both are attached). The calls and hosts must agree one for
// one; latencies are two stopwatches around one call (each probe pair adds its own overhead, in
// either order), so they are only required to be there.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, interrupt, libbpfTool, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';

interface Ev { pid: number; func: string; host: string; ret: number; latency_us: number }

describe.skipIf(skipPrivileged())("gethostlatency agrees with libbpf-tools' gethostlatency", () => {
  let workload: string;
  let peer: string;
  beforeAll(async () => {
    workload = fixture('oracle-workload');
    peer = await libbpfTool('gethostlatency');
  }, 300000); // libbpfTool may wait out the .deb test
  afterAll(() => {
    if (peer) rmSync(dirname(peer), { recursive: true, force: true }); // the private copy
  });

  it('the same calls for the same hosts, in order, as the workload reports them', async () => {
    const w = watch(workload, ['lookups'], { env: { ORACLE_WAIT: '1' }, stdin: 'pipe' });
    const pid = w.proc.pid!;
    const ours = await startTool('gethostlatency', ['--json', '-p', String(pid)]);
    const theirs = watch('stdbuf', ['-oL', peer, '-p', String(pid)]);
    await theirs.waitFor(/^TIME\s+PID\s+COMM\s+LATms\s+HOST$/m);
    w.proc.stdin!.end('go\n');
    expect(await w.exited, w.stderr()).toBe(0);
    await ours.waitForLine(/gethostbyname2_r/);
    await new Promise((r) => setTimeout(r, 300));
    await ours.stop();
    await interrupt(theirs);

    // the workload's own account: func host result
    const told = w.stdout().trim().split('\n').map((l) => l.split(' ')).map(([func, host, ret]) => ({ func, host, ret: Number(ret) }));
    expect(told.map((t) => t.func)).toEqual([...Array(4).fill('getaddrinfo'), 'gethostbyname', 'getaddrinfo', 'gethostbyname2_r']);
    const mine: Ev[] = ours.lines().map((l) => JSON.parse(l));
    expect(mine.every((e) => e.pid === pid)).toBe(true);
    expect(mine.map((e) => ({ func: e.func, host: e.host, ret: e.ret }))).toEqual(told);

    // libbpf-tools 0.26 traces getaddrinfo, gethostbyname and gethostbyname2, not the _r variants;
    // its columns: TIME PID COMM LATms HOST
    expect(theirs.stderr()).not.toMatch(/lost/i);
    const rows = theirs.stdout().trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/))
      .map(([, p, , lat, ...host]) => ({ pid: Number(p), host: host.join(' '), latency_ms: Number(lat) }));
    const comparable = mine.filter((e) => ['getaddrinfo', 'gethostbyname', 'gethostbyname2'].includes(e.func));
    expect(comparable).toHaveLength(6);
    expect(rows.map((r) => ({ pid: r.pid, host: r.host }))).toEqual(comparable.map((e) => ({ pid: e.pid, host: e.host })));
    for (const x of mine) expect(x.latency_us).toBeGreaterThan(0);
    for (const x of rows) expect(x.latency_ms).toBeGreaterThan(0);
  });
});

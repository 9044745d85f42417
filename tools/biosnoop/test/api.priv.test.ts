// Privileged: biosnoop as a library (trace() and start()), against the real kernel, with direct
// I/O the test makes on a real disk: the records the command prints, exact counts in the
// histograms, break/close detaching, both at once, typed errors with nothing attached.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIOSNOOP_HIST_SLOTS, UsageError, start, trace, type BiosnoopRecord, type BiosnoopSnapshot } from '@bpf-recipes/biosnoop';
import { heldPrograms, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

/** The disk (not partition) that holds a path. */
function diskOf(path: string): string {
  const st = statSync(path);
  const major = Math.floor(st.dev / 256) & 0xfff;
  const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  expect(existsSync(sys), `${path} must be on a block device (not tmpfs/overlay)`).toBe(true);
  const real = readFileSync(`${sys}/uevent`, 'utf8').match(/^DEVNAME=(.+)$/m)![1];
  return existsSync(`${sys}/partition`) ? basename(dirname(`/sys/class/block/${real}/..`.replace(/\/\.\.$/, ''))) : real;
}

/** Records of a trace until `n` matched `want` (or the deadline closed it). */
async function collect(t: AsyncIterable<BiosnoopRecord> & { close(): Promise<void> }, want: (r: BiosnoopRecord) => boolean, n: number, ms = 10000): Promise<BiosnoopRecord[]> {
  const got: BiosnoopRecord[] = [];
  const deadline = setTimeout(() => void t.close(), ms);
  for await (const r of t) {
    if (want(r)) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe.skipIf(skipPrivileged())('biosnoop as a library', () => {
  let dir: string;
  let disk: string;
  let dd: string; // a dd of its own name: the name filter sees only this test's I/O
  const K = 6;
  const B = 4096;
  beforeAll(async () => {
    dir = mkdtempSync('/var/tmp/bpf-recipes-bioapi-');
    disk = diskOf(dir);
    dd = `${dir}/bioapi-dd`;
    await run('cp', ['/bin/dd', dd]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const writes = (r: BiosnoopRecord) => r.comm === 'bioapi-dd' && r.rwbs.startsWith('W') && r.len === B;

  it(`${K} direct writes of ${B} bytes: ${K} records, field for field what biosnoop --json prints, latencies in µs`, async () => {
    const cli = await startTool('biosnoop', ['--json', '--name', 'bioapi-dd', '--disk', disk]);
    const t = trace({ name: 'bioapi-dd', disk });
    const w = await run(dd, ['if=/dev/zero', `of=${dir}/f`, `bs=${B}`, `count=${K}`, 'oflag=direct']);
    expect(w.code).toBe(0);
    const records = await collect(t, writes, K);
    // which side missed, if one did: the library's records first, then the command's lines
    expect(records, `the library's records of ${dir}/f on ${disk}`).toHaveLength(K);
    await cli.waitForLine(/"len":4096/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as BiosnoopRecord).filter(writes);
    expect(records).toHaveLength(K);
    expect(lines).toHaveLength(K);
    for (const r of records) {
      expect(r).toMatchObject({ pid: w.pid, comm: 'bioapi-dd', disk, len: B, error: 0 });
      expect(r.latency_us).toBeGreaterThan(0);
      expect(r.latency_us).toBeLessThan(10e6);
      expect(Number(r.latency_us.toFixed(2))).toBe(r.latency_us);
      expect(r.queue_us).toBeGreaterThanOrEqual(0);
    }
    // six different places on the disk, each its sector's bytes
    expect(new Set(records.map((r) => r.offset)).size).toBe(K);
    for (const r of records) expect(r.offset).toBe(r.sector * 512);
    // each object stamps issue and completion itself: times may differ by µs, the rest is the command's line
    const sansTimes = ({ time, latency_us, queue_us, ...r }: BiosnoopRecord) => (void time, void latency_us, void queue_us, r);
    expect(records.map(sansTimes)).toEqual(lines.map(sansTimes));
    expect(Object.keys(records[0])).toEqual(Object.keys(lines[0]));
  });

  it('start(): the histogram of --hist, exact: every request of the named dd in one slot of its disk', async () => {
    const cli = await startTool('biosnoop', ['--hist', '--json', '--name', 'bioapi-dd']);
    const agg = start({ name: 'bioapi-dd' });
    expect((await run(dd, ['if=/dev/zero', `of=${dir}/h`, `bs=${B}`, 'count=5', 'oflag=direct'])).code).toBe(0);
    expect((await run(dd, [`if=${dir}/h`, 'of=/dev/null', `bs=${B}`, 'count=5', 'iflag=direct'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const snap = agg.snapshot();
    await agg.close();
    await cli.stop();
    const line = JSON.parse(cli.lines()[0]) as BiosnoopSnapshot;
    expect(Object.keys(snap.latency_hist_us)).toEqual([disk]);
    const slots = snap.latency_hist_us[disk];
    expect(slots).toHaveLength(BIOSNOOP_HIST_SLOTS);
    expect(slots.reduce((x, y) => x + y, 0)).toBe(10);
    // the command counted the same requests (a slot may differ: each object times them itself)
    expect(line.latency_hist_us[disk].reduce((x, y) => x + y, 0)).toBe(10);
    expect(Object.keys(snap)).toEqual(Object.keys(line));
  });

  it('break and close() detach: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace({ name: 'bioapi-dd' });
    const agg = start({ name: 'bioapi-dd' });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    expect((await run(dd, ['if=/dev/zero', `of=${dir}/b`, `bs=${B}`, 'count=2', 'oflag=direct'])).code).toBe(0);
    expect(await collect(t, writes, 1)).toHaveLength(1);
    expect((await t.next()).done).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(Object.values(agg.snapshot().latency_hist_us).flat().reduce((x, y) => x + y, 0)).toBe(2);
    await agg.close();
    expect(heldPrograms(process.pid).length).toBe(before);
    expect(() => agg.snapshot()).toThrow(/after close/);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ disk: 'nosuchdisk0' })).toThrow(/--disk: no block device 'nosuchdisk0'/);
    expect(() => trace({ minLatency: '-1' })).toThrow(/--min-latency: '-1' is not a number of milliseconds/);
    expect(() => start({ minLatency: 'x' })).toThrow(UsageError);
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});

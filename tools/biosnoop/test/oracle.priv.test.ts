// Differential (privileged): biosnoop's requests on a disk against the kernel's own accounting of
// that disk, /sys/block/DEV/stat (reads and writes completed, sectors read and written). The disk
// is a loop device made for this test over a file, so only this test's direct I/O reaches it
// (were anything else to touch it, both sides would count that too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockStat as stat, loopDisk, run, settle, skipPrivileged, startTool } from '@bpf-recipes/testing';

interface Ev { pid: number; comm: string; disk: string; rwbs: string; len: number; error: number }

describe.skipIf(skipPrivileged())('biosnoop agrees with /sys/block/DEV/stat', () => {
  let loop: ReturnType<typeof loopDisk> | undefined;
  let dev = '';
  let disk = '';
  beforeAll(() => {
    loop = loopDisk('oracle-bio');
    ({ dev, disk } = loop);
  });
  afterAll(() => loop?.dispose());

  it('direct writes and reads of known sizes: the same request count and bytes, each way', async () => {
    await settle(300); // whatever probes a new block device has done so
    const tool = await startTool('biosnoop', ['--json', '--disk', disk]);
    const before = stat(disk);
    // sizes that are each one request (the loop device takes up to its max_sectors_kb at once)
    const w1 = await run('dd', ['if=/dev/urandom', `of=${dev}`, 'bs=65536', 'count=5', 'oflag=direct']);
    const w2 = await run('dd', ['if=/dev/urandom', `of=${dev}`, 'bs=4096', 'count=3', 'seek=1000', 'oflag=direct']);
    const r1 = await run('dd', [`if=${dev}`, 'of=/dev/null', 'bs=131072', 'count=2', 'iflag=direct']);
    for (const r of [w1, w2, r1]) expect(r.code, r.stderr).toBe(0);
    await settle(300);
    const after = stat(disk);
    await tool.stop();
    const ev: Ev[] = tool.lines().map((l) => JSON.parse(l));
    expect(ev.every((e) => e.disk === disk && e.error === 0)).toBe(true);
    const reads = ev.filter((e) => e.rwbs.startsWith('R'));
    const writes = ev.filter((e) => e.rwbs.startsWith('W'));
    const sum = (xs: Ev[]) => xs.reduce((a, e) => a + e.len, 0);
    expect({ reads: reads.length, readBytes: sum(reads), writes: writes.length, writeBytes: sum(writes) }).toEqual({
      reads: after.reads - before.reads,
      readBytes: after.readBytes - before.readBytes,
      writes: after.writes - before.writes,
      writeBytes: after.writeBytes - before.writeBytes,
    });
    // and the workload's share, as the workload asked for it
    const of = (pid: number) => ev.filter((e) => e.pid === pid).map((e) => e.len);
    expect(of(w1.pid)).toEqual(Array(5).fill(65536));
    expect(of(w2.pid)).toEqual(Array(3).fill(4096));
    expect(of(r1.pid)).toEqual(Array(2).fill(131072));
  });
});

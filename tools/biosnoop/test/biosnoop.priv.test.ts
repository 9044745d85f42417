// Privileged: the real biosnoop on the real kernel, with direct I/O the test makes on a real disk.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawTracepointExists } from '@bpf-recipes/core';
import { cliConformance, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

interface Ev { pid: number; comm: string; disk: string; rwbs: string; offset: number; len: number; latency_us: number; queue_us: number }

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

describe.skipIf(skipPrivileged())('biosnoop on the real kernel', () => {
  let dir: string;
  let disk: string;
  const K = 6;
  const B = 4096;
  beforeAll(() => {
    dir = mkdtempSync('/var/tmp/bpf-recipes-bio-');
    disk = diskOf(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`dd oflag=direct of ${K} blocks of ${B} bytes: ${K} write events of ${B} bytes from dd on the right disk; a direct read likewise`, async () => {
    const tool = await startTool('biosnoop', ['--json', '-Q']);
    const w = await run('dd', ['if=/dev/zero', `of=${dir}/f`, `bs=${B}`, `count=${K}`, 'oflag=direct']);
    expect(w.code).toBe(0);
    const r = await run('dd', [`if=${dir}/f`, 'of=/dev/null', `bs=${B}`, `count=${K}`, 'iflag=direct']);
    expect(r.code).toBe(0);
    // each completion comes when the disk says so: wait for all K each way (not a fixed time: a loaded machine is slower)
    const mine = () => {
      const ev: Ev[] = tool.lines().map((l) => JSON.parse(l));
      return {
        writes: ev.filter((e) => e.pid === w.pid && e.rwbs.startsWith('W')),
        reads: ev.filter((e) => e.pid === r.pid && e.rwbs.startsWith('R') && e.len === B),
      };
    };
    for (const end = Date.now() + 20000; Date.now() < end; await new Promise((res) => setTimeout(res, 50))) {
      const m = mine();
      if (m.writes.length >= K && m.reads.length >= K) break;
    }
    await tool.stop();
    const { writes, reads } = mine();
    expect(writes).toHaveLength(K);
    for (const e of writes) {
      expect(e).toMatchObject({ comm: 'dd', disk, len: B });
      expect(e.latency_us).toBeGreaterThan(0);
      expect(e.queue_us).toBeGreaterThanOrEqual(0);
      expect(e.offset % 512).toBe(0);
    }
    expect(reads).toHaveLength(K);
    expect(new Set(reads.map((e) => e.offset))).toEqual(new Set(writes.map((e) => e.offset)));
    for (const e of reads) expect(e).toMatchObject({ comm: 'dd', disk });
  });

  it('table columns with -Q; --disk with another disk sees none of it', async () => {
    const tool = await startTool('biosnoop', ['-Q', '--disk', disk]);
    const w = await run('dd', ['if=/dev/zero', `of=${dir}/g`, `bs=${B}`, 'count=2', 'oflag=direct']);
    await tool.waitForLine(new RegExp(`\\sdd\\s+${w.pid}\\s`));
    await tool.stop();
    const [header, ...rows] = tool.lines();
    expect(header.trim().split(/\s+/)).toEqual(['TIME(ms)', 'COMM', 'PID', 'DISK', 'T', 'OFFSET', 'LEN', 'QUE(ms)', 'LAT(ms)']);
    const mine = rows.filter((x) => x.includes(` dd `) && x.includes(` ${w.pid} `)).map((x) => x.trim().split(/\s+/));
    expect(mine.filter((x) => x[4].startsWith('W'))).toHaveLength(2);
    for (const x of mine.filter((x) => x[4].startsWith('W'))) expect(x.slice(1, 4).concat(x[6])).toEqual(['dd', String(w.pid), disk, String(B)]);

    const others = ['zram0', 'loop0', 'sda', 'nvme0n1', 'vda'].filter((d) => d !== disk && existsSync(`/sys/class/block/${d}/dev`) && !existsSync(`/sys/class/block/${d}/partition`));
    if (others.length) {
      const t2 = await startTool('biosnoop', ['--json', '--disk', others[0]]);
      await run('dd', ['if=/dev/zero', `of=${dir}/h`, `bs=${B}`, 'count=2', 'oflag=direct']);
      await new Promise((res) => setTimeout(res, 300));
      await t2.stop();
      expect(t2.lines().map((l) => JSON.parse(l)).filter((e) => e.disk === disk)).toEqual([]);
    }
  });

  it('-P: S when a request starts where the disk\'s previous completion ended, R when not, ? for the first', async () => {
    const tool = await startTool('biosnoop', ['--json', '-P']);
    // one direct write of 4 blocks, then 4 direct reads of them, one after the other
    const w = await run('dd', ['if=/dev/zero', `of=${dir}/p`, `bs=${4 * B}`, 'count=1', 'oflag=direct']);
    expect(w.code).toBe(0);
    const r = await run('dd', [`if=${dir}/p`, 'of=/dev/null', `bs=${B}`, 'count=4', 'iflag=direct']);
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    await tool.stop();
    const ev: (Ev & { sector: number; pattern: string })[] = tool.lines().map((l) => JSON.parse(l));
    // every event of the stream against the one before it on its disk (all requests are seen: no filter)
    const last = new Map<string, number>();
    const checked: string[] = [];
    for (const e of ev) {
      const prev = last.get(e.disk);
      const want = prev === undefined ? '?' : prev === e.sector ? 'S' : 'R';
      if (e.pid === r.pid && e.len === B) checked.push(want);
      expect(e.pattern, JSON.stringify(e)).toBe(want);
      last.set(e.disk, e.sector + e.len / 512);
    }
    expect(checked).toHaveLength(4);
  });

  it('--hist: a log2 histogram per disk, counted in the kernel', async () => {
    const tool = await startTool('biosnoop', ['--hist', '--json', '--disk', disk]);
    await run('dd', ['if=/dev/zero', `of=${dir}/i`, `bs=${B}`, 'count=5', 'oflag=direct']);
    await new Promise((res) => setTimeout(res, 300));
    await tool.stop();
    const out = JSON.parse(tool.lines()[0]);
    const slots: number[] = out.latency_hist_us[disk];
    expect(slots.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(5);
  });

  it('lost events (the counter its skeleton hands to the lifecycle) are reported: printed + lost = requests, exactly', async () => {
    const N = 400;
    const dd = `${dir}/ddlost`; // a name of its own: the filter sees only this workload
    await run('cp', ['/bin/dd', dd]);
    const target = `${dir}/lost`;
    // written directly from the start: no page of it is ever cached, so every overwrite below is a
    // direct request of its own (a cached page that cannot be dropped turns a direct write buffered)
    expect((await run(dd, ['if=/dev/zero', `of=${target}`, 'bs=4096', `count=${N}`, 'oflag=direct', 'conv=fsync'])).code).toBe(0);
    // the reference: the same filter with the default ring, read all along, loses nothing; what the
    // kernel turned into requests of ddlost is what it prints (N, unless the filesystem chose otherwise)
    const reference = await startTool('biosnoop', ['--json', '--name', 'ddlost', '--disk', disk]);
    const tool = await startTool('biosnoop', ['--json', '--name', 'ddlost', '--disk', disk, '--buffer-size', '4096']);
    tool.proc.kill('SIGSTOP'); // the reader sleeps; the 4 KiB ring (~40 events) overflows
    // overwrite in place: one 4 KiB data write per block, no allocation, no metadata from this task
    const w = await run(dd, ['if=/dev/zero', `of=${target}`, 'bs=4096', `count=${N}`, 'oflag=direct', 'conv=notrunc']);
    expect(w.code).toBe(0);
    tool.proc.kill('SIGCONT');
    await tool.waitForLine(/"comm":"ddlost"/);
    await new Promise((r) => setTimeout(r, 1500)); // the periodic report
    expect(tool.stderr()).toMatch(/^biosnoop: Lost \d+ events$/m);
    const { code } = await tool.stop('SIGINT');
    expect(code).toBe(0);
    expect((await reference.stop('SIGINT')).code).toBe(0);
    expect(reference.stderr()).not.toMatch(/Lost/);
    const ours = (t: typeof tool) => (t.lines().map((l) => JSON.parse(l)) as Ev[]).filter((e) => e.pid === w.pid && e.rwbs.startsWith('W') && e.len === 4096).length;
    const requests = ours(reference);
    const printed = ours(tool);
    const total = Number(/Lost (\d+) events in total/.exec(tool.stderr())?.[1]);
    expect(requests).toBeLessThanOrEqual(N);
    expect(requests).toBeGreaterThan(N * 0.9);
    expect(printed).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(0);
    expect(printed + total).toBe(requests);
  });

  cliConformance({
    tool: 'biosnoop',
    programs: rawTracepointExists('block_io_start') ? 4 : 3, // before 6.5: no block_io_start
    drive: () => run('dd', ['if=/dev/zero', `of=${dir}/drive`, 'bs=4096', 'count=2', 'oflag=direct']),
    badInput: [['--disk', 'nosuchdisk0'], ['--min-latency', 'x'], ['--min-latency', ''], ['--bogus']],
  });
});

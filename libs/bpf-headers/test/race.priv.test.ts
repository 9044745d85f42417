// Privileged: the map helpers of recipes.h under a race. One thread per CPU, pinned, leaves a
// spinning barrier at the same moment as the others and makes the first call of a new map key
// (a syscall number no kernel has, a new comm, a new latency slot of a disk): every CPU inserts
// the same key at once. Each tool's totals must be exact, against the number of calls the threads
// made (and, for block I/O, /sys/block/DEV/stat). Before recipes_lookup_or_init(), syscount --hist
// lost the call of every CPU whose insert found the key already made (284 of 300 keys short).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockStat, fixture, freePort, loopDisk, sample, settle, skipPrivileged, startTool } from '@bpf-recipes/testing';

const FIRST = 600; // syscall numbers from here: none on any architecture (each call is ENOSYS)
const KEYS = 120;
const CALLS = 5;   // calls of each key by each thread

interface Race { pid: number; cpus: number; go(): Promise<void> }

/** race-keys started and ready (its threads pinned, waiting for the go-line). */
function race(args: string[]): Promise<Race> {
  const bin = fixture('race-keys', ['-pthread']);
  return new Promise((res, rej) => {
    const p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const closed = new Promise<number | null>((r) => p.on('close', r));
    p.on('error', rej);
    p.stderr!.on('data', (d) => (err += d));
    p.stdout!.on('data', (d) => {
      out += d;
      if (!/^ready$/m.test(out)) return;
      res({
        pid: p.pid!,
        cpus: Number(/^cpus (\d+)$/m.exec(out)![1]),
        go: async () => {
          p.stdin!.end('go\n');
          const code = await closed;
          if (code !== 0 || !/^done$/m.test(out)) throw new Error(`race-keys ${args.join(' ')} failed (${code}): ${err}`);
        },
      });
    });
  });
}

const numbers = Array.from({ length: KEYS }, (_, k) => FIRST + k);
const syscallList = numbers.join(',');

/**
 * race-keys MODE FIRST KEYS CALLS under `tool` (its args given race-keys' pid), the tool stopped
 * once the threads are done: its --json lines, the scrape of --metrics PORT made before the stop.
 */
async function traced(mode: 'syscalls' | 'comms', tool: string, args: (pid: number) => string[], port?: number) {
  const r = await race([mode, String(FIRST), String(KEYS), String(CALLS)]);
  const t = await startTool(tool, args(r.pid));
  let scrape = '';
  try {
    await r.go();
    if (port) scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } finally {
    expect((await t.stop()).code).toBe(0);
  }
  return { pid: r.pid, each: r.cpus * CALLS, lines: port ? [] : t.lines().map((l) => JSON.parse(l)), scrape };
}

const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** { KEY(nr, k): value(nr, k) } over the raced syscall numbers */
const perKey = <T>(key: (nr: number, k: number) => string | number, value: (nr: number, k: number) => T) =>
  Object.fromEntries(numbers.map((nr, k) => [key(nr, k), value(nr, k)]));

describe.skipIf(skipPrivileged())('counts stay exact when every CPU makes the same new key at once', () => {
  it('the machine has more than one CPU to race on', async () => {
    const r = await race(['syscalls', String(FIRST), '1', '1']);
    await r.go();
    expect(r.cpus).toBeGreaterThan(1);
  });

  it('syscount --hist: every call of every new (syscall, slot) key in the histogram', async () => {
    const { each, lines: [out] } = await traced('syscalls', 'syscount', (pid) => ['--json', '--hist', '--top', String(KEYS), '-p', String(pid), '--syscall', syscallList]);
    const hist = out.latency_hist_us as Record<string, number[]>;
    expect(perKey((nr) => `[${nr}]`, (nr) => total(hist[`[${nr}]`] ?? []))).toEqual(perKey((nr) => `[${nr}]`, () => each));
    expect(out.syscalls).toHaveLength(KEYS);
    for (const s of out.syscalls) expect(s, s.name).toMatchObject({ count: each, errors: each });
  });

  it('syscount -L: counts, errors and the process total, exact', async () => {
    const { pid, each, lines: [out] } = await traced('syscalls', 'syscount', (pid) => ['--json', '-L', '--top', String(KEYS), '-p', String(pid), '--syscall', syscallList]);
    expect(Object.fromEntries(out.syscalls.map((s: { id: number; count: number; errors: number }) => [s.id, [s.count, s.errors]])))
      .toEqual(perKey((nr) => nr, () => [each, each]));
    for (const s of out.syscalls) expect(s.total_ns, s.name).toBeGreaterThan(0);
    expect(out.processes).toEqual([expect.objectContaining({ pid, count: KEYS * each, errors: KEYS * each })]);
  });

  it('syslatency: one histogram per new comm, and per new syscall, each with every call', async () => {
    type Line = { comm?: string; syscall?: string; count: number; buckets: { count: number }[] };
    const counts = (l: Line) => [l.count, total(l.buckets.map((b) => b.count))];
    // --by comm (the default): before key k every thread names itself race-k
    const byComm = await traced('comms', 'syslatency', (pid) => [syscallList, '--json', '-p', String(pid)]);
    expect(Object.fromEntries(byComm.lines.map((l: Line) => [l.comm, counts(l)]))).toEqual(perKey((_, k) => `race-${k}`, () => [byComm.each, byComm.each]));
    const bySyscall = await traced('syscalls', 'syslatency', (pid) => [syscallList, '--by', 'syscall', '--json', '-p', String(pid)]);
    expect(Object.fromEntries(bySyscall.lines.map((l: Line) => [l.syscall, counts(l)]))).toEqual(perKey((nr) => `[${nr}]`, () => [bySyscall.each, bySyscall.each]));
  });

  it('syscount --metrics --metrics-by comm: every new (syscall, comm) series in the scrape, exact', async () => {
    const port = await freePort();
    const { each, scrape } = await traced('comms', 'syscount', (pid) =>
      ['-L', '-p', String(pid), '--syscall', syscallList, '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'comm', '--metrics-top', String(KEYS)], port);
    const series = (nr: number, k: number) => `{syscall="[${nr}]",comm="race-${k}"}`;
    expect(perKey((nr) => nr, (nr, k) => [sample(scrape, `bpf_recipes_syscalls_total${series(nr, k)}`), sample(scrape, `bpf_recipes_syscall_errors_total${series(nr, k)}`)]))
      .toEqual(perKey((nr) => nr, () => [each, each]));
    expect(scrape).not.toMatch(/comm="other"/);
  });
});

describe.skipIf(skipPrivileged())('biosnoop --hist and --metrics: every request of every CPU, on a disk of its own', () => {
  const PER_THREAD = 200;
  let loop: ReturnType<typeof loopDisk> | undefined;
  beforeAll(() => {
    loop = loopDisk('race-bio', 32);
  });
  afterAll(() => loop?.dispose());

  it('the histogram and the scrape hold as many reads as the threads made and the disk completed', async () => {
    const { dev, disk } = loop!;
    await settle(300); // whatever probes a new block device has done so
    const r = await race(['direct', dev, String(PER_THREAD)]);
    const port = await freePort();
    const tool = await startTool('biosnoop', ['--hist', '--json', '--disk', disk, '--metrics', `127.0.0.1:${port}`]);
    let text = '';
    const before = blockStat(disk).reads;
    try {
      await r.go();
      await settle(300);
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop()).code).toBe(0);
    }
    const done = blockStat(disk).reads - before;
    expect(done).toBe(r.cpus * PER_THREAD); // no request merged with another, none added
    const hist = tool.lines().map((l) => JSON.parse(l));
    expect(hist).toHaveLength(1);
    expect(Object.keys(hist[0].latency_hist_us)).toEqual([disk]);
    expect(total(hist[0].latency_hist_us[disk])).toBe(done);
    const rd = `{disk="${disk}",op="read"}`;
    expect(sample(text, `bpf_recipes_block_io_duration_seconds_count${rd}`)).toBe(done);
    expect(sample(text, `bpf_recipes_block_io_bytes_total${rd}`)).toBe(done * 4096);
  });
});

// Privileged: the map helpers of recipes.h under a race. One thread per CPU, pinned, leaves a
// spinning barrier at the same moment as the others and makes the first call of a new map key
// (a syscall number no kernel has, a new comm, a new latency slot of a disk): every CPU inserts
// the same key at once. Each tool's totals must be exact, against the number of calls the threads
// made (and, for block I/O, /sys/block/DEV/stat). Before recipes_lookup_or_init(), syscount --hist
// lost the call of every CPU whose insert found the key already made (284 of 300 keys short).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, freePort, sample, settle, skipPrivileged, startTool } from '@bpf-recipes/testing';

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

describe.skipIf(skipPrivileged())('counts stay exact when every CPU makes the same new key at once', () => {
  it('the machine has more than one CPU to race on', async () => {
    const r = await race(['syscalls', String(FIRST), '1', '1']);
    await r.go();
    expect(r.cpus).toBeGreaterThan(1);
  });

  it('syscount --hist: every call of every new (syscall, slot) key in the histogram', async () => {
    const r = await race(['syscalls', String(FIRST), String(KEYS), String(CALLS)]);
    const tool = await startTool('syscount', ['--json', '--hist', '--top', String(KEYS), '-p', String(r.pid), '--syscall', syscallList]);
    await r.go();
    await tool.stop();
    const out = JSON.parse(tool.lines()[0]);
    const each = r.cpus * CALLS;
    const hist = out.latency_hist_us as Record<string, number[]>;
    const sums = Object.fromEntries(numbers.map((nr) => [`[${nr}]`, (hist[`[${nr}]`] ?? []).reduce((a, b) => a + b, 0)]));
    expect(sums).toEqual(Object.fromEntries(numbers.map((nr) => [`[${nr}]`, each])));
    expect(out.syscalls).toHaveLength(KEYS);
    for (const s of out.syscalls) expect(s, s.name).toMatchObject({ count: each, errors: each });
  });

  it('syscount -L: counts, errors and the process total, exact', async () => {
    const r = await race(['syscalls', String(FIRST), String(KEYS), String(CALLS)]);
    const tool = await startTool('syscount', ['--json', '-L', '--top', String(KEYS), '-p', String(r.pid), '--syscall', syscallList]);
    await r.go();
    await tool.stop();
    const out = JSON.parse(tool.lines()[0]);
    const each = r.cpus * CALLS;
    expect(Object.fromEntries(out.syscalls.map((s: { id: number; count: number; errors: number }) => [s.id, [s.count, s.errors]])))
      .toEqual(Object.fromEntries(numbers.map((nr) => [nr, [each, each]])));
    for (const s of out.syscalls) expect(s.total_ns, s.name).toBeGreaterThan(0);
    expect(out.processes).toEqual([expect.objectContaining({ pid: r.pid, count: KEYS * each, errors: KEYS * each })]);
  });

  it('syslatency: one histogram per new comm, and per new syscall, each with every call', async () => {
    const each = (cpus: number) => cpus * CALLS;
    const total = (l: { buckets: { count: number }[] }) => l.buckets.reduce((a, b) => a + b.count, 0);
    // --by comm (the default): before key k every thread names itself race-k
    const r = await race(['comms', String(FIRST), String(KEYS), String(CALLS)]);
    const tool = await startTool('syslatency', [syscallList, '--json', '-p', String(r.pid)]);
    await r.go();
    await tool.stop();
    const lines = tool.lines().map((l) => JSON.parse(l));
    expect(Object.fromEntries(lines.map((l) => [l.comm, [l.count, total(l)]])))
      .toEqual(Object.fromEntries(numbers.map((_, k) => [`race-${k}`, [each(r.cpus), each(r.cpus)]])));
    // --by syscall
    const r2 = await race(['syscalls', String(FIRST), String(KEYS), String(CALLS)]);
    const t2 = await startTool('syslatency', [syscallList, '--by', 'syscall', '--json', '-p', String(r2.pid)]);
    await r2.go();
    await t2.stop();
    const l2 = t2.lines().map((l) => JSON.parse(l));
    expect(Object.fromEntries(l2.map((l) => [l.syscall, [l.count, total(l)]])))
      .toEqual(Object.fromEntries(numbers.map((nr) => [`[${nr}]`, [each(r2.cpus), each(r2.cpus)]])));
  });

  it('syscount --metrics --metrics-by comm: every new (syscall, comm) series in the scrape, exact', async () => {
    const r = await race(['comms', String(FIRST), String(KEYS), String(CALLS)]);
    const port = await freePort();
    const tool = await startTool('syscount', ['-L', '-p', String(r.pid), '--syscall', syscallList, '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'comm', '--metrics-top', String(KEYS)]);
    let text = '';
    try {
      await r.go();
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop()).code).toBe(0);
    }
    const each = r.cpus * CALLS;
    const got = Object.fromEntries(numbers.map((nr, k) => [nr, [
      sample(text, `bpf_recipes_syscalls_total{syscall="[${nr}]",comm="race-${k}"}`),
      sample(text, `bpf_recipes_syscall_errors_total{syscall="[${nr}]",comm="race-${k}"}`),
    ]]));
    expect(got).toEqual(Object.fromEntries(numbers.map((nr) => [nr, [each, each]])));
    expect(text).not.toMatch(/comm="other"/);
  });
});

/** reads completed (Documentation/block/stat.rst) */
const readsDone = (disk: string) => Number(readFileSync(`/sys/block/${disk}/stat`, 'utf8').trim().split(/\s+/)[0]);

describe.skipIf(skipPrivileged())('biosnoop --hist and --metrics: every request of every CPU, on a disk of its own', () => {
  const PER_THREAD = 200;
  let dir: string;
  let dev = '';
  let disk = '';
  beforeAll(() => {
    dir = mkdtempSync('/var/tmp/bpf-recipes-race-bio-');
    writeFileSync(join(dir, 'backing'), Buffer.alloc(32 << 20));
    dev = execFileSync('losetup', ['-f', '--show', join(dir, 'backing')], { encoding: 'utf8' }).trim();
    disk = basename(dev);
  });
  afterAll(() => {
    if (dev) execFileSync('losetup', ['-d', dev]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the histogram and the scrape hold as many reads as the threads made and the disk completed', async () => {
    await settle(300); // whatever probes a new block device has done so
    const r = await race(['direct', dev, String(PER_THREAD)]);
    const port = await freePort();
    const tool = await startTool('biosnoop', ['--hist', '--json', '--disk', disk, '--metrics', `127.0.0.1:${port}`]);
    let text = '';
    const before = readsDone(disk);
    try {
      await r.go();
      await settle(300);
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop()).code).toBe(0);
    }
    const done = readsDone(disk) - before;
    expect(done).toBe(r.cpus * PER_THREAD); // no request merged with another, none added
    const hist = tool.lines().map((l) => JSON.parse(l));
    expect(hist).toHaveLength(1);
    expect(Object.keys(hist[0].latency_hist_us)).toEqual([disk]);
    expect(hist[0].latency_hist_us[disk].reduce((a: number, b: number) => a + b, 0)).toBe(done);
    const rd = `{disk="${disk}",op="read"}`;
    expect(sample(text, `bpf_recipes_block_io_duration_seconds_count${rd}`)).toBe(done);
    expect(sample(text, `bpf_recipes_block_io_bytes_total${rd}`)).toBe(done * 4096);
  });
});

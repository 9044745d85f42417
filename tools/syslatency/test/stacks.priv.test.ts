// Privileged: syslatency --by ustack|kstack|stack and --min, the talk's "I/O latency correlated with
// stack", on a program whose slow and fast paths are known (fixtures/slowfast.c: slow_path() reads a
// pipe a thread fills every 120 ms, fast_path() reads /dev/zero in a loop), compared with the
// program's own timing of each slow read and with bpftrace's version of the recipe on the same run.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { interrupt, runToolSync, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';
import { start } from '@bpf-recipes/syslatency';

const here = dirname(fileURLToPath(import.meta.url));
const N = 10; // slow reads per run
const MS = 1_000_000;

/** the log2 slot of a latency in ms, as the kernel side computes it (whole milliseconds) */
const slotLow = (ns: number): number => {
  const ms = Math.floor(ns / MS);
  return ms === 0 ? 0 : 2 ** Math.floor(Math.log2(ms));
};
/** a latency within 1 ms of a boundary that matters (--min 100 ms, a slot's edge) may fall either side of it */
const nearEdge = (ns: number) => [64, 100, 128, 256].some((b) => Math.abs(ns - b * MS) < MS);

/**
 * What the program measured, as a histogram of its calls >= 100 ms: exact where no latency sits
 * near an edge; `loose` counts those that do (each may be in or out, or a slot off).
 */
function expected(lat: number[]): { slots: Map<number, number>; count: number; sumNs: number; loose: number } {
  const slots = new Map<number, number>();
  let count = 0;
  let sumNs = 0;
  let loose = 0;
  for (const ns of lat) {
    if (nearEdge(ns)) loose++;
    if (ns < 100 * MS) continue;
    count++;
    sumNs += ns;
    slots.set(slotLow(ns), (slots.get(slotLow(ns)) ?? 0) + 1);
  }
  return { slots, count, sumNs, loose };
}

/** `[64, 128)   8 |@@@|` lines → low bound → count */
const histLines = (text: string): Map<number, number> => {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^\[(\d+)(K?), \d+K?\)\s+(\d+) \|/gm)) out.set(Number(m[1]) * (m[2] ? 1024 : 1), Number(m[3]));
  return out;
};

function expectHist(got: Map<number, number>, lat: number[], what: string): void {
  const e = expected(lat);
  const total = [...got.values()].reduce((a, b) => a + b, 0);
  const msg = `${what}: got ${JSON.stringify([...got])}, the program measured ${lat.map((ns) => (ns / MS).toFixed(1)).join(' ')} ms`;
  expect(Math.abs(total - e.count), msg).toBeLessThanOrEqual(e.loose);
  for (const [low, n] of e.slots) expect(Math.abs((got.get(low) ?? 0) - n), msg).toBeLessThanOrEqual(e.loose);
  // woken in time (the usual case: every read 100 to 127 ms): all N in [64, 128), exactly
  if (lat.every((ns) => ns >= 101 * MS && ns < 127 * MS)) expect([...got], msg).toEqual([[64, N]]);
}

describe.skipIf(skipPrivileged())('syslatency --by ustack|kstack|stack --min on the real kernel', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'syslatency-stacks-'));
    bin = join(dir, 'slowfast');
    execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-fno-inline', '-pthread', '-o', bin, join(here, 'fixtures', 'slowfast.c')]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface SlowFast {
    proc: ChildProcess;
    pid: number;
    /**
     * run N rounds; resolves with each slow read's latency (ns) as the program measured it, and how
     * many fast reads took 100 ms or more all the same (preempted: a busy machine) and how many of
     * those sat within 1 ms of 100 ms
     */
    go(): Promise<number[] & { fastSlow: number; fastEdge: number }>;
    /** let it exit */
    end(): Promise<void>;
  }
  const slowfast = async (): Promise<SlowFast> => {
    const w = watch(bin, [String(N)], { stdin: 'pipe' });
    onTestFinished(() => void (w.proc.exitCode === null && w.proc.kill('SIGKILL')));
    await w.waitFor(/^ready\n/m);
    return {
      proc: w.proc,
      pid: w.proc.pid!,
      go: async () => {
        w.proc.stdin!.write('go\n');
        await w.waitFor(/^done\n/m);
        const out = w.stdout();
        const lat = [...out.matchAll(/^slow (\d+)$/gm)].map((m) => Number(m[1]));
        return Object.assign(lat, { fastSlow: Number(/^fast_slow (\d+)$/m.exec(out)![1]), fastEdge: Number(/^fast_edge (\d+)$/m.exec(out)![1]) });
      },
      end: async () => {
        w.proc.stdin!.end();
        await w.exited;
      },
    };
  };
  const folded = (text: string) =>
    text.split('\n').filter(Boolean).map((l) => {
      const m = /^(.+) (\d+)$/.exec(l);
      expect(m, `not a folded line: ${l}`).not.toBeNull();
      return { frames: m![1].split(';'), weight: Number(m![2]) };
    });

  it('--by ustack --min 100ms: only slow_path\'s stack, N calls in [64 ms, 128 ms), folded weight = their latency; bpftrace\'s recipe agrees', async () => {
    const w = await slowfast();
    const args = ['read', '--by', 'ustack', '--min', '100ms', '-m', '-p', String(w.pid)];
    const foldedFile = join(dir, 'slow.folded');
    const [text, fold, json] = await Promise.all([
      startTool('syslatency', args),
      startTool('syslatency', [...args, '--format', 'folded', '-o', foldedFile]),
      startTool('syslatency', [...args, '--json']),
    ]);
    // the talk's recipe in bpftrace, in milliseconds, on the same run
    // (BEGIN runs once every probe is attached; "Attaching 3 probes" is printed before they are)
    const bt = watch('bpftrace', ['-e',
      'BEGIN { printf("attached\\n"); } ' +
      `tracepoint:syscalls:sys_enter_read /pid == ${w.pid}/ { @start[tid] = nsecs; } ` +
      'tracepoint:syscalls:sys_exit_read /@start[tid]/ { $l = (nsecs - @start[tid]) / 1000000; if ($l >= 100) { @times[ustack] = hist($l); } delete(@start[tid]); }']);
    onTestFinished(() => void (bt.proc.exitCode === null && bt.proc.kill('SIGKILL'))); // a failed assertion leaves nothing running
    await bt.waitFor(/^attached$/m);
    const lat = await w.go();
    expect(lat).toHaveLength(N);
    for (const t of [text, fold, json]) await t.stop('SIGINT');
    await interrupt(bt); // while the program lives: bpftrace names its frames only then
    await w.end();

    // text: slow_path's stack, named as the stack tools name theirs (leaf first), with its
    // histogram; fast_path's only where the program saw a fast read take 100 ms (preempted on a
    // busy machine: then exactly those)
    const all = text.stdout();
    const stacks = all.split('\n\n').filter((b) => /read\(2\)/.test(b));
    const fastOnes = stacks.filter((b) => /^ {2}fast_path$/m.test(b));
    const fastCalls = fastOnes.reduce((n, b) => n + Number(/read\(2\), (\d+) call/.exec(b)![1]), 0);
    expect(Math.abs(fastCalls - lat.fastSlow), all).toBeLessThanOrEqual(lat.fastEdge);
    if (lat.fastSlow === 0 && lat.fastEdge === 0) expect(all).not.toMatch(/fast_path|fast_read/);
    expect(stacks.length - fastOnes.length, all).toBe(1);
    const out = stacks.find((b) => !/^ {2}fast_path$/m.test(b))! + '\n';
    const frames = out.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
    // walked from call-frame information: whole, libc's read wrapper (no frame pointer) and the
    // caller it would hide from a frame-pointer walk (slow_wait) included
    expect(frames.slice(0, 4), out).toEqual([expect.stringMatching(/read/), 'slow_wait', 'slow_path', 'main']);
    expect(out).not.toContain('[incomplete user stack]');
    expect(out).toMatch(/^ {4}slowfast\n {4}read\(2\), \d+ calls?, latency \(msecs\):\n/m);
    expectHist(histLines(out), lat, 'text');

    // folded: one line, weight = the latency of those calls in µs (the program's own timing, within 3 %)
    const f = folded(readFileSync(foldedFile, 'utf8')).filter((x) => !x.frames.includes('fast_path'));
    expect(f).toHaveLength(1);
    expect(f[0].frames[0]).toBe('slowfast');
    expect(f[0].frames.at(-1)).toBe('read(2)');
    expect(f[0].frames.slice(1, -2)).toEqual(expect.arrayContaining(['main', 'slow_path']));
    expect(fold.stdout()).toBe('');
    const e = expected(lat);
    if (e.loose === 0) expect(Math.abs(f[0].weight - e.sumNs / 1000) / (e.sumNs / 1000)).toBeLessThan(0.03);

    // --json: the same histogram, its frames, count and total
    const lines = json.stdout().trim().split('\n').map((l) => JSON.parse(l)).filter((l) => !l.user.includes('fast_path'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ comm: 'slowfast', syscall: 'read', id: 0, unit: 'ms' });
    expect(lines[0].user).toEqual(frames);
    expect(lines[0].kernel).toBeUndefined();
    // two tracers of the same calls, each timing them from its own programs: within 0.1 %
    expect(Math.abs(lines[0].total_ns / 1000 - f[0].weight) / f[0].weight).toBeLessThan(0.001);
    expectHist(new Map(lines[0].buckets.map((b: { low: number; count: number }) => [b.low, b.count])), lat, '--json');

    // bpftrace: one stack with slow_path, the same histogram
    const bto = bt.stdout();
    const maps = [...bto.matchAll(/@times\[\n([\s\S]*?)\]: \n((?:\[.*\n?)*)/g)].filter((m) => !/fast_path/.test(m[1]));
    expect(maps, bto + bt.stderr()).toHaveLength(1);
    expect(bto).toMatch(/^Attaching 3 probes/m);
    expect(maps[0][1]).toMatch(/^\s+slow_path\+\d+$/m);
    expect(histLines(maps[0][2])).toEqual(histLines(out));
  });

  it('without --min the fast path shows too: fast_path\'s stack with exactly its 2×200×N reads, slow_path\'s with its N', async () => {
    const w = await slowfast();
    const tool = await startTool('syslatency', ['read', '--by', 'ustack', '--json', '-p', String(w.pid)]);
    await w.go();
    await tool.stop('SIGINT');
    await w.end();
    const lines = tool.stdout().trim().split('\n').map((l) => JSON.parse(l) as { user: string[]; count: number; unit: string });
    const fast = lines.filter((l) => l.user.includes('fast_path'));
    const slow = lines.filter((l) => l.user.includes('slow_path'));
    expect(fast.reduce((a, l) => a + l.count, 0), tool.stdout()).toBe(2 * 200 * N);
    expect(slow.reduce((a, l) => a + l.count, 0), tool.stdout()).toBe(N);
    expect(lines.every((l) => l.unit === 'us')).toBe(true);
    // the main thread made every read of the program (the writer thread writes)
    expect(lines.reduce((a, l) => a + l.count, 0)).toBe(2 * 200 * N + N);
  });

  it('--by stack: kernel frames at the return below the user frames; pprof holds latency and calls as two sample types', async () => {
    const w = await slowfast();
    const pprof = join(dir, 'slow.pb.gz');
    const args = ['read', '--by', 'stack', '--min', '100ms', '-p', String(w.pid)];
    const [text, prof] = await Promise.all([startTool('syslatency', args), startTool('syslatency', [...args, '--format', 'pprof', '-o', pprof])]);
    const lat = await w.go();
    await text.stop('SIGINT');
    await prof.stop('SIGINT');
    await w.end();
    const out = text.stdout();
    // kernel frames (the syscall's return path), `--`, then the user frames
    const body = out.split('\n\n').find((b) => /^ {2}slow_path$/m.test(b))!.split('\n');
    const sep = body.indexOf('  --');
    expect(sep, out).toBeGreaterThan(0);
    expect(body.slice(0, sep).join('\n')).toMatch(/do_syscall_64|entry_SYSCALL/);
    expect(body.slice(sep).join('\n')).toMatch(/^ {2}slow_path$/m);
    expect(out).toMatch(/read\(2\), \d+ calls?, latency \(usecs\):/);
    expect(prof.stderr()).toMatch(/syslatency: wrote \d+ stacks? \(\d+ us\) to .*slow\.pb\.gz \(pprof\)/);
    const p = Profile.decode(gunzipSync(readFileSync(pprof)));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => [str(t.type), str(t.unit)])).toEqual([['latency', 'microseconds'], ['calls', 'count']]);
    const fn = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
    const loc = new Map(p.location.map((l) => [Number(l.id), fn.get(Number(l.line[0].functionId))]));
    const samples = p.sample.map((x) => ({ names: x.locationId.map((id) => loc.get(Number(id))), value: x.value.map(Number) }));
    const slow = samples.filter((x) => x.names.includes('slow_path'));
    expect(slow).toHaveLength(1);
    expect(samples.filter((x) => x.names.includes('fast_path')).reduce((n, x) => n + x.value[1], 0) - lat.fastSlow).toBeLessThanOrEqual(lat.fastEdge);
    const [us, calls] = slow[0].value;
    const e = expected(lat);
    expect(Math.abs(calls - e.count)).toBeLessThanOrEqual(e.loose);
    if (e.loose === 0) expect(Math.abs(us - e.sumNs / 1000) / (e.sumNs / 1000)).toBeLessThan(0.03);
    // the leaf first: the syscall's return path, then read(2), then the user frames up to main
    const names = slow[0].names;
    expect(names.indexOf('read(2)')).toBeGreaterThan(0);
    expect(names.indexOf('slow_path')).toBeGreaterThan(names.indexOf('read(2)'));
    expect(names.at(-1)).toBe('slowfast');
  });

  it('-i --json: one object per stack per interval; they add up to the run; the typed API start() sees the same', async () => {
    const w = await slowfast();
    const tool = await startTool('syslatency', ['read', '--by', 'ustack', '--min', '100ms', '--json', '-i', '0.4', '-p', String(w.pid)]);
    const api = start({ syscalls: ['read'], by: 'ustack', min: '100ms', pid: [w.pid] });
    try {
      const lat = await w.go();
      const snap = api.snapshot(); // while the program lives: its stacks are named
      await tool.stop('SIGINT');
      const e = expected(lat);
      const lines = tool.stdout().trim().split('\n').map((l) => JSON.parse(l) as { interval_s: number; user: string[]; count: number; total_ns: number });
      const slow = lines.filter((l) => l.user.includes('slow_path'));
      expect(slow.length, tool.stdout()).toBeGreaterThanOrEqual(2); // N × 120 ms over 0.4 s intervals
      expect(slow.every((l) => typeof l.interval_s === 'number')).toBe(true);
      expect(Math.abs(slow.reduce((n, l) => n + l.count, 0) - e.count)).toBeLessThanOrEqual(e.loose);
      const h = snap.histograms.find((x) => x.user?.includes('slow_path'))!;
      expect(snap).toMatchObject({ by: 'ustack', unit: 'us', missed: 0, missed_stacks: { kernel_stacks: 0, user_stacks: 0 } });
      expect(h).toMatchObject({ comm: 'slowfast', syscall: 'read', id: 0 });
      expect(h.kernel).toBeUndefined();
      expect(h.user).toEqual(slow[0].user);
      expect(Math.abs(h.count - e.count)).toBeLessThanOrEqual(e.loose);
    } finally {
      await api.close();
      await w.end();
    }
  });

  it('usage errors: exit 2, one line, nothing traced', () => {
    for (const [args, re] of [
      [['--min', 'soon'], /^syslatency: --min: 'soon' is not a time/],
      [['--min', '-5ms'], /^syslatency: --min: '-5ms' is not a time/],
      [['--format', 'folded'], /^syslatency: --format writes stacks: give --by ustack\|kstack\|stack with it/],
      [['-o', 'x.svg'], /^syslatency: --output writes stacks/],
      [['-P'], /^syslatency: -P\/--per-process splits the stacks/],
      [['--by', 'ustack', '--format', 'svg', '-i', '1'], /^syslatency: --format svg writes one profile for the whole run/],
      [['--by', 'ustack', '--json', '--format', 'folded'], /^syslatency: --json and --format exclude each other/],
      [['--by', 'ustack', '--stack-storage-size', '0'], /^syslatency: --stack-storage-size/],
    ] as const) {
      const r = runToolSync('syslatency', [...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/Tracing/);
    }
  });
});

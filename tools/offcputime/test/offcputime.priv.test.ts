// Privileged: the real offcputime on the real kernel, with a C program that blocks through a known
// call chain (main → recipe_a → recipe_b → nanosleep(2), N × MS ms; or main → recipe_va →
// recipe_vb → vfork(2), whose parent waits uninterruptibly while the child sleeps MS ms).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, start } from '@bpf-recipes/offcputime';
import { FRAME_POINTER_CFLAGS, SYSCALL_ENTRY, cliConformance, loadedPrograms, skipPrivileged, startTool, waitNoPrograms } from '@bpf-recipes/testing';

const here = dirname(fileURLToPath(import.meta.url));
const CHAIN = ['main', 'recipe_a', 'recipe_b'];
const VCHAIN = ['main', 'recipe_va', 'recipe_vb'];

describe.skipIf(skipPrivileged())('offcputime on the real kernel', () => {
  let bin: string;
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), 'offcputime-test-')), 'offcpu');
    execFileSync('gcc', ['-O0', ...FRAME_POINTER_CFLAGS, '-fno-inline', '-o', bin, join(here, 'fixtures', 'offcpu.c')]);
  });
  afterAll(() => {
    if (bin) rmSync(dirname(bin), { recursive: true, force: true });
  });

  interface Blocker {
    proc: ChildProcess;
    pid: number;
    /** run the N blocks; resolves once they are done (the process then waits for end()) */
    go(): Promise<void>;
    end(): Promise<void>;
  }
  const blocker = async (mode: 'sleep' | 'vfork', n: number, ms: number): Promise<Blocker> => {
    const proc = spawn(bin, [mode, String(n), String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const seen = (word: string) =>
      new Promise<void>((resolve) => {
        const check = () => out.includes(`${word}\n`) && resolve();
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          check();
        });
        check();
      });
    await seen('ready');
    return {
      proc,
      pid: proc.pid!,
      go: async () => {
        proc.stdin!.write('go\n');
        await seen('done');
      },
      end: async () => {
        const exited = new Promise((r) => proc.on('exit', r));
        proc.stdin!.end();
        await exited;
      },
    };
  };

  /** folded lines → [frames, µs]; the lines of one chain summed */
  const folded = (lines: string[]) => lines.filter(Boolean).map((l) => {
    const m = /^(.*) (\d+)$/.exec(l)!;
    return { frames: m[1].split(';'), us: Number(m[2]) };
  });
  const withChain = (rows: { frames: string[]; us: number }[], chain: string[]) =>
    rows.filter((r) => {
      const at = r.frames.indexOf(chain[1]);
      return at > 0 && r.frames.slice(at - 1, at + 2).join(';') === chain.join(';');
    });
  const sum = (rows: { us: number }[]) => rows.reduce((n, r) => n + r.us, 0);
  /**
   * Blocks the tool reported lost. Now and then the kernel does not run a sched_switch program where
   * a thread comes back on CPU (libbpf-tools' offcputime loses the same blocks, silently): the
   * tool counts each such block and says so, and the bounds below allow for exactly those.
   */
  const lost = (stderr: string) => [...stderr.matchAll(/offcputime: Lost (\d+) blocks/g)].reduce((n, m) => n + Number(m[1]), 0);

  it('--format folded: main;recipe_a;recipe_b then the kernel down to schedule, 10 × 50 ms off CPU, no BPF frames', async () => {
    const b = await blocker('sleep', 10, 50);
    const tool = await startTool('offcputime', ['-p', String(b.pid), '--format', 'folded']);
    await b.go();
    await tool.stop('SIGINT');
    await b.end();
    const rows = folded(tool.lines());
    const ours = withChain(rows, CHAIN);
    expect(ours, tool.stdout()).toHaveLength(1);
    const { frames, us } = ours[0];
    expect(frames[0]).toBe('offcpu');
    // the kernel, entered from recipe_b's syscall instruction, down to the scheduler
    const kernel = frames.slice(frames.indexOf('recipe_b') + 1);
    expect(kernel[0]).toMatch(SYSCALL_ENTRY.outermost);
    expect(kernel).toContain(SYSCALL_ENTRY.through);
    expect(kernel.some((f) => /nanosleep/.test(f))).toBe(true);
    expect(kernel).toContain('schedule');
    expect(kernel.at(-1)).toMatch(/^_*schedule$/);
    expect(kernel.filter((f) => /^(bpf_|__bpf_|__traceiter_|perf_|trace_call_bpf)/.test(f))).toEqual([]);
    expect(frames.join(';')).not.toContain('[unknown]');
    // 10 sleeps of 50 ms: off CPU at least that (less the few µs between arming the timer and
    // switching out), and not much more on a busy 2-CPU machine
    expect(us).toBeGreaterThan((10 - lost(tool.stderr())) * 49_000);
    expect(us).toBeLessThan(10 * 50_000 + 250_000);
    // whatever else the process did off CPU is small beside it
    expect(sum(rows) - us).toBeLessThan(50_000);
  });

  it('text: kernel frames leaf first, --, user frames, comm, microseconds', async () => {
    const b = await blocker('sleep', 4, 30);
    const tool = await startTool('offcputime', ['-p', String(b.pid)]);
    await b.go();
    await tool.stop('SIGINT');
    await b.end();
    const text = tool.lines();
    const at = text.indexOf('  recipe_b');
    expect(at, tool.stdout()).toBeGreaterThan(0);
    expect(text.slice(at, at + 3)).toEqual(['  recipe_b', '  recipe_a', '  main']);
    expect(text.slice(0, at)).toContain('  schedule');
    expect(text[at - 1]).toBe('  --');
    const comm = text.indexOf('    offcpu', at);
    const us = Number(/^ {4}(\d+) us$/.exec(text[comm + 1])![1]);
    expect(us).toBeGreaterThan((4 - lost(tool.stderr())) * 29_000);
    expect(us).toBeLessThan(4 * 30_000 + 200_000);
    expect(tool.stderr()).toMatch(/Tracing off-CPU time \(us\) by kernel and user stacks, all states/);
  });

  it('--state D takes the uninterruptible vfork wait and not the sleep; --state S the other way round', async () => {
    const s = await blocker('sleep', 3, 40);
    const v = await blocker('vfork', 3, 40);
    const pids = `${s.pid},${v.pid}`;
    const d = await startTool('offcputime', ['--state', 'D', '-p', pids, '--format', 'folded']);
    const sl = await startTool('offcputime', ['--state', 'S', '-p', pids, '--format', 'folded']);
    await s.go();
    await v.go();
    await d.stop('SIGINT');
    await sl.stop('SIGINT');
    await s.end();
    await v.end();
    const dRows = folded(d.lines());
    const sRows = folded(sl.lines());
    const vfork = withChain(dRows, VCHAIN);
    expect(vfork, d.stdout()).toHaveLength(1);
    expect(vfork[0].frames.some((f) => /vfork/.test(f))).toBe(true);
    expect(vfork[0].us).toBeGreaterThan((3 - lost(d.stderr())) * 39_000);
    expect(withChain(dRows, CHAIN)).toEqual([]);
    const sleep = withChain(sRows, CHAIN);
    expect(sleep, sl.stdout()).toHaveLength(1);
    expect(sleep[0].us).toBeGreaterThan((3 - lost(sl.stderr())) * 39_000);
    expect(withChain(sRows, VCHAIN)).toEqual([]);
  });

  it('-m and -M: blocks below / above the bound are left out; -p leaves other processes out; -P names the PID', async () => {
    const short = await blocker('sleep', 5, 5);
    // bounds far from both: on a busy machine a 5 ms sleep can stay off CPU for 60 ms and more (it
    // waits its turn to run again), which a bound of 20 ms would count as long
    const long = await blocker('sleep', 3, 200);
    const min = await startTool('offcputime', ['-m', '100ms', '-P', '-p', `${short.pid},${long.pid}`, '--format', 'folded']);
    const max = await startTool('offcputime', ['-M', '100000', '-P', '-p', `${short.pid},${long.pid}`, '--format', 'folded']);
    const onlyLong = await startTool('offcputime', ['-p', String(long.pid), '-P', '--format', 'folded']);
    await short.go();
    await long.go();
    for (const t of [min, max, onlyLong]) await t.stop('SIGINT');
    await short.end();
    await long.end();
    const byPid = (rows: { frames: string[]; us: number }[], pid: number) => withChain(rows, CHAIN).filter((r) => r.frames[0] === `offcpu-${pid}`);
    const minRows = folded(min.lines());
    expect(byPid(minRows, long.pid), min.stdout()).toHaveLength(1);
    expect(byPid(minRows, long.pid)[0].us).toBeGreaterThan((3 - lost(min.stderr())) * 199_000);
    expect(byPid(minRows, short.pid)).toEqual([]);
    const maxRows = folded(max.lines());
    expect(byPid(maxRows, short.pid), max.stdout()).toHaveLength(1);
    // (5 ms sleeps: off CPU a little less each, the time from arming the timer to switching out —
    // a few µs on a real CPU, ~140 µs on an emulated one, the VM lane's)
    expect(byPid(maxRows, short.pid)[0].us).toBeGreaterThan((5 - lost(max.stderr())) * 4_500);
    expect(byPid(maxRows, short.pid)[0].us).toBeLessThan(5 * 100_000);
    expect(byPid(maxRows, long.pid)).toEqual([]);
    const only = folded(onlyLong.lines());
    expect(only.length).toBeGreaterThan(0);
    expect(only.filter((r) => r.frames[0] !== `offcpu-${long.pid}`)).toEqual([]);
  });

  it('--name and -t keep to the named program / the one thread (filters in the kernel, on the task that blocks)', async () => {
    const b = await blocker('sleep', 3, 20);
    const byName = await startTool('offcputime', ['-n', 'offcpu', '-P', '--format', 'folded']);
    const byTid = await startTool('offcputime', ['-t', String(b.pid), '-P', '--format', 'folded']);
    await b.go();
    await byName.stop('SIGINT');
    await byTid.stop('SIGINT');
    await b.end();
    for (const t of [byName, byTid]) {
      const rows = folded(t.lines());
      expect(withChain(rows, CHAIN).filter((r) => r.frames[0] === `offcpu-${b.pid}`), t.stdout()).toHaveLength(1);
      expect(rows.filter((r) => !r.frames[0].startsWith('offcpu'))).toEqual([]);
    }
    expect(folded(byTid.lines()).filter((r) => r.frames[0] !== `offcpu-${b.pid}`)).toEqual([]);
  });

  it('--json: one object with the stacks (leaf first), offcpu_us and nothing missed; -o with pprof and speedscope', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'offcputime-files-'));
    try {
      const b = await blocker('sleep', 5, 20);
      const pb = join(dir, 'p.pb.gz');
      const j = await startTool('offcputime', ['--json', '-p', String(b.pid)]);
      const p = await startTool('offcputime', ['--format', 'pprof', '-o', pb, '-p', String(b.pid)]);
      const ss = join(dir, 's.json');
      const sp = await startTool('offcputime', ['--format', 'speedscope', '-o', ss, '-p', String(b.pid)]);
      await b.go();
      await j.stop('SIGINT');
      await p.stop('SIGINT');
      await sp.stop('SIGINT');
      await b.end();
      const out = j.lines().filter(Boolean).map((l) => JSON.parse(l));
      expect(out).toHaveLength(1);
      expect(out[0].missed).toEqual({ kernel_stacks: 0, user_stacks: 0, counts: 0, starts: 0, ends: lost(j.stderr()) });
      const s = out[0].stacks.find((x: { user?: string[] }) => x.user?.[0] === 'recipe_b');
      expect(s, JSON.stringify(out[0])).toBeDefined();
      expect(s.comm).toBe('offcpu');
      expect(s.user.slice(0, 3)).toEqual(['recipe_b', 'recipe_a', 'main']);
      expect(s.kernel).toContain('schedule');
      expect(s.offcpu_us).toBeGreaterThan((5 - lost(j.stderr())) * 19_000);

      expect(p.stderr()).toMatch(new RegExp(`offcputime: wrote \\d+ stacks? \\(\\d+ us\\) to ${pb} \\(pprof\\)`));
      const prof = Profile.decode(gunzipSync(readFileSync(pb)));
      const str = (i: number | bigint) => prof.stringTable.strings[Number(i)];
      expect(prof.sampleType.map((t) => [str(t.type), str(t.unit)])).toEqual([['off_cpu', 'microseconds']]);
      const loc = new Map(prof.location.map((l) => [Number(l.id), l]));
      const fn = new Map(prof.function.map((f) => [Number(f.id), f]));
      const names = (locs: (number | bigint)[]) => locs.map((id) => str(fn.get(Number(loc.get(Number(id))!.line[0].functionId))!.name));
      const sample = prof.sample.find((x) => names(x.locationId).includes('recipe_b'))!;
      const sn = names(sample.locationId); // leaf first
      expect(sn.slice(sn.indexOf('recipe_b'), sn.indexOf('recipe_b') + 3)).toEqual(['recipe_b', 'recipe_a', 'main']);
      expect(sn.at(-1)).toBe('offcpu');
      expect(sn).toContain('schedule');
      expect(Number(sample.value[0])).toBeGreaterThan((5 - lost(p.stderr())) * 19_000);

      // speedscope: weights in microseconds, the chain's sample among them
      const sj = JSON.parse(readFileSync(ss, 'utf8'));
      expect(sj.profiles[0]).toMatchObject({ type: 'sampled', name: 'offcputime', unit: 'microseconds' });
      const frameNames = (i: number) => sj.profiles[0].samples[i].map((f: number) => sj.shared.frames[f].name);
      const at = sj.profiles[0].samples.findIndex((_: unknown, i: number) => frameNames(i).includes('recipe_b'));
      expect(frameNames(at).slice(0, 1)).toEqual(['offcpu']);
      expect(sj.profiles[0].weights[at]).toBeGreaterThan((5 - lost(sp.stderr())) * 19_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the typed API: start() → snapshot() has the chain with its 10 blocks; close() leaves no program loaded', async () => {
    const b = await blocker('sleep', 10, 20);
    const t = start({ pid: [b.pid] });
    try {
      expect(loadedPrograms('offcputime_switch').length).toBeGreaterThan(0);
      await b.go();
      const snap = t.snapshot();
      const s = snap.stacks.find((x) => x.user?.[0] === 'recipe_b');
      expect(s, JSON.stringify(snap)).toBeDefined();
      expect(s!.user!.slice(0, 3)).toEqual(['recipe_b', 'recipe_a', 'main']);
      expect(s!.kernel).toContain('schedule');
      expect(s!.pid).toBe(b.pid);
      expect(s!.comm).toBe('offcpu');
      // every block counted, or reported lost (see lost() above)
      expect(s!.blocks).toBeLessThanOrEqual(10);
      expect(s!.blocks + snap.missed.ends, JSON.stringify(snap)).toBeGreaterThanOrEqual(10);
      expect(s!.offcpu_us).toBeGreaterThan(s!.blocks * 19_000);
      expect(s!.offcpu_us).toBeLessThan(10 * 20_000 + 200_000);
      expect(snap.missed).toMatchObject({ kernel_stacks: 0, user_stacks: 0, counts: 0, starts: 0 });
      expect(t.lost).toBe(0);
    } finally {
      await t.close();
      await b.end();
    }
    expect(() => t.snapshot()).toThrow(/after close/);
    expect(await waitNoPrograms('offcputime_switch')).toEqual([]);
    // bad options are the command's errors, before anything is loaded
    expect(() => start({ state: 'Q' })).toThrow(/--state: 'Q' is not a task state/);
    expect(() => start({ minBlock: '5ms', maxBlock: '1ms' })).toThrow(UsageError);
    expect(() => start({ kernel: true, user: true })).toThrow(/-K and -U exclude each other/);
  });

  cliConformance({
    tool: 'offcputime',
    args: ['-K', '-i', '0.2', '--format', 'folded'],
    programs: 1,
    drive: () => new Promise((r) => setTimeout(r, 100)),
    badInput: [
      ['-K', '-U'],
      ['--format', 'flame'],
      ['--format', 'svg', '-i', '1'],
      ['-o', ''],
      ['-i', 'x'],
      ['--stack-storage-size', '0'],
      ['--state', 'Q'],
      ['--state', ''],
      ['-m', 'soon'],
      ['-m', '10ms', '-M', '1ms'],
      ['extra'],
    ],
  });
});

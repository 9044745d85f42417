// Privileged: the real profile on the real kernel, sampling a C program whose call chain is known
// (main → outer → inner, inner spinning on the CPU for a set amount of CPU time) and node running a
// hot JavaScript function.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_POINTER_CFLAGS, cliConformance, loadedPrograms, skipPrivileged, startTool, waitNoPrograms } from '@bpf-recipes/testing';
import { start } from '@bpf-recipes/profile';

const here = dirname(fileURLToPath(import.meta.url));
const HZ = 49;

describe.skipIf(skipPrivileged())('profile on the real kernel', () => {
  let dir: string;
  let bin: string;
  let other: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'profile-test-'));
    bin = join(dir, 'busychain');
    execFileSync('gcc', ['-O0', ...FRAME_POINTER_CFLAGS, '-fno-inline', '-fPIE', '-pie', '-o', bin, join(here, 'fixtures', 'busychain.c')]);
    // the same program under another name: a second busy process that -p must leave out
    other = join(dir, 'busyother');
    copyFileSync(bin, other);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface Spinner {
    proc: ChildProcess;
    pid: number;
    /** spin; resolves with the CPU time spun (s) once done (the process then waits for end()) */
    go(): Promise<number>;
    end(): Promise<void>;
  }
  const spinner = async (cpuMs: number, cmd = [bin]): Promise<Spinner> => {
    // cwd: node --perf-basic-prof also writes a V8 log file there
    const proc = spawn(cmd[0], [...cmd.slice(1), String(cpuMs)], { stdio: ['pipe', 'pipe', 'inherit'], cwd: dir });
    let out = '';
    const seen = (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        const check = () => {
          const m = re.exec(out);
          if (m) resolve(m);
        };
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          check();
        });
        check();
      });
    await seen(/^ready\n/m);
    return {
      proc,
      pid: proc.pid!,
      go: async () => {
        proc.stdin!.write('go\n');
        const m = await seen(/^done(?: (\d+))?\n/m);
        return m[1] === undefined ? cpuMs / 1000 : Number(m[1]) / 1e9;
      },
      end: async () => {
        const exited = new Promise((r) => proc.on('exit', r));
        proc.stdin!.end();
        await exited;
      },
    };
  };
  const folded = (lines: string[]) =>
    lines.filter(Boolean).map((l) => {
      const m = /^(.+) (\d+)$/.exec(l);
      expect(m, `not a folded line: ${l}`).not.toBeNull();
      return { frames: m![1].split(';'), count: Number(m![2]) };
    });
  const sum = (xs: { count: number }[]) => xs.reduce((n, x) => n + x.count, 0);

  it(`-p --format folded: the busy thread's samples show main;outer;inner, about ${HZ} a second of its CPU time`, async () => {
    const s = await spinner(2000);
    const tool = await startTool('profile', ['-p', String(s.pid), '--format', 'folded']);
    const cpuS = await s.go();
    await tool.stop('SIGINT');
    await s.end();
    const stacks = folded(tool.lines());
    expect(stacks.length, tool.stderr()).toBeGreaterThan(0);
    // every line is the fixture's: -p leaves everything else out
    expect(stacks.filter((x) => x.frames[0] !== 'busychain')).toEqual([]);
    const total = sum(stacks);
    // one thread on the CPU for cpuS seconds: HZ samples a second of it, whichever CPU it ran on
    expect(cpuS).toBeGreaterThan(1.9);
    expect(total, `${total} samples for ${cpuS.toFixed(2)} s of CPU`).toBeGreaterThan(HZ * cpuS * 0.6);
    expect(total, `${total} samples for ${cpuS.toFixed(2)} s of CPU`).toBeLessThan(HZ * cpuS * 1.4 + 5);
    // most samples are in inner's loop, under outer and main in that order (root first)
    const inInner = stacks.filter((x) => x.frames.at(-1) === 'inner');
    expect(sum(inInner)).toBeGreaterThan(total * 0.7);
    for (const x of inInner) {
      expect(x.frames.slice(-3)).toEqual(['main', 'outer', 'inner']);
      // every frame of the chain is named (a rare sample inside the clock read may fall in the vDSO)
      expect(x.frames.join(';')).not.toContain('[unknown]');
    }
  });

  it('-o FILE --format pprof and svg: the busy chain as samples, read back', async () => {
    const s = await spinner(1000);
    const files = { pprof: join(dir, 'cpu.pb.gz'), svg: join(dir, 'cpu.svg') };
    const tools = await Promise.all(Object.entries(files).map(([fmt, f]) => startTool('profile', ['-U', '-p', String(s.pid), '--format', fmt, '-o', f])));
    await s.go();
    for (const t of tools) await t.stop('SIGINT');
    await s.end();
    for (const [i, [fmt, f]] of Object.entries(files).entries()) {
      expect(tools[i].stdout(), fmt).toBe('');
      expect(tools[i].stderr()).toMatch(new RegExp(`profile: wrote \\d+ stacks? \\(\\d+ samples\\) to ${f} \\(${fmt}\\)`));
    }
    const p = Profile.decode(gunzipSync(readFileSync(files.pprof)));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => [str(t.type), str(t.unit)])).toEqual([['samples', 'count']]);
    const loc = new Map(p.location.map((l) => [Number(l.id), l]));
    const fn = new Map(p.function.map((f) => [Number(f.id), f]));
    const leafFirst = (ids: (number | bigint)[]) => ids.map((id) => str(fn.get(Number(loc.get(Number(id))!.line[0].functionId))!.name));
    const chains = p.sample.map((x) => ({ names: leafFirst(x.locationId), n: Number(x.value[0]) }));
    const inInner = chains.filter((c) => c.names[0] === 'inner');
    expect(inInner.length).toBeGreaterThan(0);
    for (const c of inInner) expect(c.names.slice(0, 3)).toEqual(['inner', 'outer', 'main']);
    expect(inInner.reduce((n, c) => n + c.n, 0)).toBeGreaterThan(HZ * 0.5);
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg).toMatch(/^<\?xml /);
    expect(svg).toContain('</svg>');
    expect(svg).toMatch(/<title>inner \(\d+ samples, [\d.]+%\)<\/title>/);
  });

  it('-P --json without -p: both busy processes; -p with one PID: only it', async () => {
    const a = await spinner(1000);
    const b = await spinner(1000, [other]);
    const all = await startTool('profile', ['-P', '--json']);
    const one = await startTool('profile', ['-P', '--json', '-p', String(a.pid)]);
    await Promise.all([a.go(), b.go()]);
    await all.stop('SIGINT');
    await one.stop('SIGINT');
    await a.end();
    await b.end();
    const [ja] = all.lines().map((l) => JSON.parse(l));
    const [jo] = one.lines().map((l) => JSON.parse(l));
    expect(ja).toMatchObject({ frequency_hz: HZ, missed: { counts: 0 } });
    const pidsAll = new Set(ja.stacks.map((x: { pid: number }) => x.pid));
    expect(pidsAll.has(a.pid)).toBe(true);
    expect(pidsAll.has(b.pid)).toBe(true);
    // the idle task is left out without -I; the tool never samples itself
    expect(pidsAll.has(0)).toBe(false);
    expect(pidsAll.has(all.pid)).toBe(false);
    expect(new Set(jo.stacks.map((x: { pid: number }) => x.pid))).toEqual(new Set([a.pid]));
    expect(jo.samples).toBe(sum(jo.stacks));
    expect(jo.samples).toBeGreaterThan(HZ * 0.6);
    const busyOther = ja.stacks.filter((x: { pid: number }) => x.pid === b.pid);
    expect(busyOther.every((x: { comm: string }) => x.comm === 'busyother')).toBe(true);
  });

  it('-U: user frames only (text, leaf first); -K --json: kernel frames only, no user key', async () => {
    const s = await spinner(1000);
    const u = await startTool('profile', ['-U', '-p', String(s.pid)]);
    const k = await startTool('profile', ['-K', '--json', '-p', String(s.pid)]);
    await s.go();
    await u.stop('SIGINT');
    await k.stop('SIGINT');
    await s.end();
    const text = u.lines();
    const at = text.indexOf('  inner');
    expect(at, text.join('\n')).toBeGreaterThanOrEqual(0);
    expect(text.slice(at, at + 3)).toEqual(['  inner', '  outer', '  main']);
    expect(text).toContain('    busychain');
    expect(text).not.toContain('  --');
    expect(text.filter((l) => /^ {2}(entry_SYSCALL_64|asm_sysvec|do_syscall_64)/.test(l))).toEqual([]);
    const [j] = k.lines().map((l) => JSON.parse(l));
    expect(j.stacks.length).toBeGreaterThan(0);
    expect(j.samples).toBeGreaterThan(HZ * 0.6);
    for (const x of j.stacks) {
      expect(x.user).toBeUndefined();
      expect(Array.isArray(x.kernel)).toBe(true);
      expect(x.kernel).not.toContain('inner');
    }
    // inner spins in user mode: most samples interrupted it there, where there is no kernel stack
    const userMode = j.stacks.filter((x: { kernel: string[] }) => x.kernel.length === 0);
    expect(sum(userMode)).toBeGreaterThan(j.samples * 0.5);
  });

  it('-i: one print per interval with the samples since the last; together about HZ a second of the CPU time', async () => {
    const s = await spinner(1500);
    const tool = await startTool('profile', ['-U', '-i', '0.3', '--json', '-p', String(s.pid)]);
    const cpuS = await s.go();
    await tool.stop('SIGINT');
    await s.end();
    const prints = tool.lines().map((l) => JSON.parse(l));
    expect(prints.length).toBeGreaterThanOrEqual(3);
    for (const p of prints) {
      expect(p.interval_s).toBeGreaterThan(0);
      expect(p.duration_s).toBeUndefined();
      expect(p.samples).toBe(sum(p.stacks));
    }
    expect(prints.filter((p) => p.samples > 0).length).toBeGreaterThanOrEqual(2);
    // each sample is printed once: the intervals add up to the thread's CPU time at HZ
    const total = sum(prints.map((p) => ({ count: p.samples })));
    expect(total, `${total} samples for ${cpuS.toFixed(2)} s of CPU`).toBeGreaterThan(HZ * cpuS * 0.6);
    expect(total, `${total} samples for ${cpuS.toFixed(2)} s of CPU`).toBeLessThan(HZ * cpuS * 1.4 + 5);
    expect(tool.stderr()).toMatch(/printing every 0\.3s/);
  });

  it('names a hot JavaScript function from the perf map of node --perf-basic-prof', async () => {
    const s = await spinner(1500, [process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', join(here, 'fixtures', 'hot.js')]);
    try {
      const tool = await startTool('profile', ['-U', '-p', String(s.pid), '--format', 'folded']);
      await s.go();
      await tool.stop('SIGINT');
      const stacks = folded(tool.lines());
      // the loop's samples: recipeHotLoop (interpreted `~`, baseline `^` or optimized `*`) as the JIT named it
      const hot = stacks.filter((x) => x.frames.some((f) => /^JS:[~*^]?recipeHotLoop [^;]*hot\.js:\d+:\d+$/.test(f)));
      expect(sum(hot), tool.lines().join('\n')).toBeGreaterThan(sum(stacks) * 0.3);
      expect(stacks.some((x) => x.frames.some((f) => /^JS:[~*^]?recipeHotOuter /.test(f)))).toBe(true);
    } finally {
      await s.end();
      rmSync(`/tmp/perf-${s.pid}.map`, { force: true });
    }
  });

  it('the typed API: start() samples, snapshot() names the stacks, close() leaves no program loaded', async () => {
    const s = await spinner(1000);
    const p = start({ pid: [s.pid], user: true, kernel: false });
    try {
      expect(loadedPrograms('profile_sample').length).toBeGreaterThan(0);
      await s.go();
      const snap = p.snapshot();
      expect(snap.frequency).toBe(HZ);
      expect(snap.cpus.length).toBeGreaterThan(0);
      expect(snap.samples).toBe(sum(snap.stacks));
      expect(snap.samples).toBeGreaterThan(HZ * 0.6);
      expect(snap.missed).toEqual({ kernel_stacks: 0, user_stacks: 0, counts: 0 });
      const top = snap.stacks[0];
      expect(top).toMatchObject({ pid: s.pid, comm: 'busychain' });
      expect(top.kernel).toBeUndefined();
      expect(top.user!.slice(0, 3)).toEqual(['inner', 'outer', 'main']);
    } finally {
      await p.close();
      await s.end();
    }
    expect(() => p.snapshot()).toThrow(/after close/);
    expect(await waitNoPrograms('profile_sample')).toEqual([]);
  });

  it('the typed API refuses bad options before loading anything', () => {
    expect(() => start({ frequency: 0 })).toThrow(/--frequency: '0'/);
    expect(() => start({ frequency: 100000 })).toThrow(/--frequency: '100000'/);
    expect(() => start({ pid: [0] })).toThrow(/--pid/);
  });

  cliConformance({
    tool: 'profile',
    // kernel stacks only: the print at the end names them from kallsyms alone (quick on a slow VM too)
    args: ['-K', '-d', '2', '--format', 'folded'],
    programs: 1,
    drive: () => new Promise((r) => setTimeout(r, 100)),
    // the other checks of the shared options and of -F are unit tests (libs/stacks, test/cpus.test.ts)
    badInput: [['-F', '0'], ['-F', '100000'], ['-K', '-U'], ['--format', 'flame'], ['-i', 'x'], ['--format', 'svg', '-i', '1'], ['extra']],
  });
});

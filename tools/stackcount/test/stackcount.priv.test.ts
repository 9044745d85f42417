// Privileged: the real stackcount on the real kernel, with a C program whose call chain is known
// (main → recipe_a → recipe_b → recipe_c → getppid(2), N times).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_POINTER_CFLAGS, SYSCALL_ENTRY, cliConformance, skipPrivileged, startTool } from '@bpf-recipes/testing';

const here = dirname(fileURLToPath(import.meta.url));
const TP = 'syscalls:sys_enter_getppid';

describe.skipIf(skipPrivileged())('stackcount on the real kernel', () => {
  let bin: string;
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), 'stackcount-test-')), 'callchain');
    execFileSync('gcc', ['-O0', ...FRAME_POINTER_CFLAGS, '-fno-inline', '-o', bin, join(here, 'fixtures', 'callchain.c')]);
  });
  afterAll(() => {
    if (bin) rmSync(dirname(bin), { recursive: true, force: true });
  });

  interface Chain {
    proc: ChildProcess;
    pid: number;
    /** run the N calls; resolves once they are done (the process then waits for end()) */
    go(): Promise<void>;
    end(): Promise<void>;
  }
  const chain = async (n: number, cmd = [bin]): Promise<Chain> => {
    // cwd: node --perf-basic-prof also writes a V8 log file there
    const proc = spawn(cmd[0], [...cmd.slice(1), String(n)], { stdio: ['pipe', 'pipe', 'inherit'], cwd: dirname(bin) });
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

  it('--format folded: the stack c;b;a with exactly N counts, user frames then kernel frames, no BPF frames', async () => {
    const c = await chain(37);
    const tool = await startTool('stackcount', ['-p', String(c.pid), '--format', 'folded', TP]);
    await c.go();
    await tool.stop('SIGINT');
    await c.end();
    const lines = tool.lines().filter(Boolean);
    expect(lines, tool.stderr()).toHaveLength(1);
    const m = /^(.*) (\d+)$/.exec(lines[0])!;
    expect(Number(m[2])).toBe(37);
    const frames = m[1].split(';');
    expect(frames[0]).toBe('callchain');
    const at = frames.indexOf('recipe_a');
    expect(frames.slice(at - 1, at + 3)).toEqual(['main', 'recipe_a', 'recipe_b', 'recipe_c']);
    // then the kernel, entered from recipe_c's syscall instruction
    const kernel = frames.slice(at + 3);
    expect(kernel[0]).toMatch(SYSCALL_ENTRY.outermost);
    expect(kernel).toContain(SYSCALL_ENTRY.through);
    expect(kernel.filter((f) => /^(bpf_|__bpf_|perf_|trace_call_bpf)/.test(f))).toEqual([]);
    expect(m[1]).not.toContain('[unknown]');
  });

  it('-o FILE with --format pprof, speedscope and svg: each file holds the stack main;recipe_a;recipe_b;recipe_c with exactly N counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackcount-files-'));
    try {
      const c = await chain(29);
      const files = { pprof: join(dir, 'p.pb.gz'), speedscope: join(dir, 's.json'), svg: join(dir, 'f.svg'), folded: join(dir, 'f.folded') };
      const tools = await Promise.all(Object.entries(files).map(([fmt, f]) => startTool('stackcount', ['-p', String(c.pid), '--format', fmt, '-o', f, TP])));
      await c.go();
      for (const t of tools) await t.stop('SIGINT');
      await c.end();
      for (const [i, [fmt, f]] of Object.entries(files).entries()) {
        expect(tools[i].stdout(), fmt).toBe('');
        if (fmt !== 'folded') expect(tools[i].stderr()).toContain(`stackcount: wrote 1 stack (29 counts) to ${f} (${fmt})`);
        expect(existsSync(f)).toBe(true);
      }
      const chainOf = (names: string[]) => {
        const at = names.indexOf('recipe_a');
        expect(at, names.join(';')).toBeGreaterThan(0);
        return names.slice(at - 1, at + 3);
      };
      const want = ['main', 'recipe_a', 'recipe_b', 'recipe_c'];

      // pprof: decoded back, one sample (leaf first) of value 29, the user frames in the fixture's mapping
      const p = Profile.decode(gunzipSync(readFileSync(files.pprof)));
      const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
      expect(p.sampleType.map((t) => str(t.type))).toEqual(['count']);
      expect(p.sample).toHaveLength(1);
      expect(p.sample[0].value.map(Number)).toEqual([29]);
      const loc = new Map(p.location.map((l) => [Number(l.id), l]));
      const fn = new Map(p.function.map((f) => [Number(f.id), f]));
      const mapping = new Map(p.mapping.map((m) => [Number(m.id), str(m.filename)]));
      const frames = p.sample[0].locationId.map((id) => loc.get(Number(id))!).reverse();
      const names = frames.map((l) => str(fn.get(Number(l.line[0].functionId))!.name));
      expect(names[0]).toBe('callchain');
      expect(chainOf(names)).toEqual(want);
      const recipeC = frames[names.indexOf('recipe_c')];
      expect(mapping.get(Number(recipeC.mappingId))).toBe('callchain');
      expect(mapping.get(Number(frames.at(-1)!.mappingId))).toBe('[kernel]');
      expect(names.at(-1)).not.toBe('recipe_c'); // kernel frames follow: the syscall entry
      expect(names).toContain(SYSCALL_ENTRY.through);

      // speedscope: one sampled profile, one sample of weight 29
      const s = JSON.parse(readFileSync(files.speedscope, 'utf8'));
      expect(s.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
      expect(s.profiles).toHaveLength(1);
      expect(s.profiles[0]).toMatchObject({ type: 'sampled', name: `stackcount ${TP}`, startValue: 0, endValue: 29, weights: [29] });
      const sNames = s.profiles[0].samples[0].map((i: number) => s.shared.frames[i].name);
      expect(sNames).toEqual(names);

      // svg: the same frames, each with all 29 counts (100%)
      const svg = readFileSync(files.svg, 'utf8');
      expect(svg).toMatch(/^<\?xml /);
      expect(svg).toContain('</svg>');
      for (const n of want) expect(svg).toContain(`<title>${n} (29 counts, 100.00%)</title>`);
      expect(svg).toContain('<title>all (29 counts, 100.00%)</title>');

      // folded to a file: the line stdout would have had
      const folded = readFileSync(files.folded, 'utf8').trim().split('\n');
      expect(folded).toEqual([`${names.join(';')} 29`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-U: user frames only, leaf first (text); -K --json: kernel frames only', async () => {
    const c = await chain(5);
    const u = await startTool('stackcount', ['-U', '-p', String(c.pid), TP]);
    const k = await startTool('stackcount', ['-K', '--json', '-p', String(c.pid), TP]);
    await c.go();
    await u.stop('SIGINT');
    await k.stop('SIGINT');
    await c.end();
    const text = u.lines();
    const at = text.indexOf('  recipe_c');
    expect(text.slice(at, at + 4)).toEqual(['  recipe_c', '  recipe_b', '  recipe_a', '  main']);
    expect(text).toContain(`    callchain`);
    expect(text).toContain(`    5`);
    expect(text).not.toContain('  --');
    expect(text.filter((l) => /syscall_64/.test(l))).toEqual([]);
    const j = k.lines().map((l) => JSON.parse(l));
    expect(j).toHaveLength(1);
    expect(j[0].tracepoint).toBe(TP);
    expect(j[0].missed).toEqual({ kernel_stacks: 0, user_stacks: 0, counts: 0 });
    expect(j[0].stacks).toHaveLength(1);
    const s = j[0].stacks[0];
    expect(s).toMatchObject({ comm: 'callchain', count: 5 });
    expect(s.user).toBeUndefined();
    expect(s.kernel.at(-1)).toMatch(SYSCALL_ENTRY.outermost);
    expect(s.kernel).toContain(SYSCALL_ENTRY.through);
  });

  it('-P splits one stack per process; without it the same stack of two processes is one entry', async () => {
    const c1 = await chain(4);
    const c2 = await chain(9);
    const pids = `${c1.pid},${c2.pid}`;
    const split = await startTool('stackcount', ['-U', '-P', '--format', 'folded', '-p', pids, TP]);
    const merged = await startTool('stackcount', ['-U', '--format', 'folded', '-p', pids, TP]);
    await c1.go();
    await c2.go();
    await split.stop('SIGINT');
    await merged.stop('SIGINT');
    await c1.end();
    await c2.end();
    const tail = ';main;recipe_a;recipe_b;recipe_c';
    const s = split.lines().filter(Boolean).sort();
    expect(s).toHaveLength(2);
    const byPid = Object.fromEntries(s.map((l) => [/^callchain-(\d+);/.exec(l)![1], l]));
    expect(byPid[c1.pid]).toMatch(new RegExp(`${tail} 4$`));
    expect(byPid[c2.pid]).toMatch(new RegExp(`${tail} 9$`));
    const m = merged.lines().filter(Boolean);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatch(new RegExp(`^callchain;.*${tail} 13$`));
  });

  it('missed stacks are counted, shown and reported, never dropped (a stack map of one stack)', async () => {
    // --frame-pointers: both stacks in the one stack-trace map (the call-frame walk keeps user stacks
    // in a map of their own); the kernel stack takes the only bucket, every user stack then fails with -EEXIST
    const c = await chain(23);
    const folded = await startTool('stackcount', ['--frame-pointers', '--stack-storage-size', '1', '-p', String(c.pid), '--format', 'folded', TP]);
    const json = await startTool('stackcount', ['--frame-pointers', '--stack-storage-size', '1', '--json', '-p', String(c.pid), TP]);
    await c.go();
    await folded.stop('SIGINT');
    await json.stop('SIGINT');
    await c.end();
    const [line, ...more] = folded.lines().filter(Boolean);
    expect(more).toEqual([]);
    const m = /^callchain;\[missed user stack\];(.+) 23$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(m![1].split(';')[0]).toMatch(SYSCALL_ENTRY.outermost);
    expect(m![1].split(';')).toContain(SYSCALL_ENTRY.through);
    expect(folded.stderr()).toMatch(/stackcount: 0 kernel and 23 user stacks could not be stored/);
    const [j] = json.lines().map((l) => JSON.parse(l));
    expect(j.missed).toEqual({ kernel_stacks: 0, user_stacks: 23, counts: 0 });
    expect(j.stacks).toHaveLength(1);
    expect(j.stacks[0]).toMatchObject({ comm: 'callchain', count: 23, user: ['[missed user stack]'] });
  });

  it('names JavaScript frames from the perf map of node --perf-basic-prof', async () => {
    const c = await chain(150, [process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', join(here, 'fixtures', 'jit.js')]);
    const perfMap = `/tmp/perf-${c.pid}.map`;
    try {
      const tool = await startTool('stackcount', ['-U', '-p', String(c.pid), '--format', 'folded', TP]);
      await c.go();
      await tool.stop('SIGINT');
      const lines = tool.lines().filter(Boolean);
      // every getppid of the loop has recipeJsOuter (interpreted `~` or optimized `*`) on its stack
      const ours = lines.filter((l) => /;JS:[~*]?recipeJsOuter [^;]*jit\.js:\d+:\d+;/.test(l));
      expect(ours.length, lines.join('\n')).toBeGreaterThan(0);
      expect(ours.reduce((n, l) => n + Number(/ (\d+)$/.exec(l)![1]), 0)).toBe(150);
      expect(lines.some((l) => /;JS:[~*]?recipeJsLeaf [^;]*jit\.js:/.test(l))).toBe(true);
    } finally {
      await c.end();
      rmSync(perfMap, { force: true });
    }
  });

  cliConformance({
    tool: 'stackcount',
    args: ['-K', '-i', '0.2', '--format', 'folded', 'sched:sched_switch'],
    programs: 1,
    drive: () => new Promise((r) => setTimeout(r, 100)),
    badInput: [
      [],
      ['sched'],
      ['nosuchcategory:nosuchevent'],
      ['sched:sched_switch', 'sched:sched_wakeup'],
      ['-K', '-U', 'sched:sched_switch'],
      ['--format', 'flame', 'sched:sched_switch'],
      ['--format', 'svg', '-i', '1', 'sched:sched_switch'],
      ['-o', '', 'sched:sched_switch'],
      ['-i', 'x', 'sched:sched_switch'],
      ['--stack-storage-size', '0', 'sched:sched_switch'],
    ],
  });
});

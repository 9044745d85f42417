// Privileged: stackcount as a library (start()), against the real kernel, with the C program whose
// call chain is known (main → recipe_a → recipe_b → recipe_c → getppid(2), N times): exact counts,
// the stacks the command's --json prints, close() detaching, typed errors with nothing attached.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, start, type CountedStack, type StackcountOptions } from '@bpf-recipes/stackcount';
import { FRAME_POINTER_CFLAGS, SYSCALL_ENTRY, heldPrograms, skipPrivileged, startTool } from '@bpf-recipes/testing';

const here = dirname(fileURLToPath(import.meta.url));
const TP = 'syscalls:sys_enter_getppid';

describe.skipIf(skipPrivileged())('stackcount as a library', () => {
  let bin: string;
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), 'stackcount-api-')), 'callchain');
    execFileSync('gcc', ['-O0', ...FRAME_POINTER_CFLAGS, '-fno-inline', '-o', bin, join(here, 'fixtures', 'callchain.c')]);
  });
  afterAll(() => {
    if (bin) rmSync(dirname(bin), { recursive: true, force: true });
  });

  /** The fixture, started and waiting: go() makes its n calls, end() lets it exit. */
  const chain = async (n: number) => {
    const proc: ChildProcess = spawn(bin, [String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
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

  const expectChain = (s: CountedStack) => {
    // leaf first: the syscall was made in recipe_c, called by recipe_b, recipe_a, main
    const user = s.user!;
    const at = user.indexOf('recipe_c');
    expect(user.slice(at, at + 4), user.join(';')).toEqual(['recipe_c', 'recipe_b', 'recipe_a', 'main']);
    expect(s.kernel!.at(-1)).toMatch(SYSCALL_ENTRY.outermost);
    expect(s.kernel).toContain(SYSCALL_ENTRY.through);
  };

  it('start(): N getppid calls at syscalls:sys_enter_getppid are one stack counted exactly N times, as the command --json prints it', async () => {
    const N = 43;
    const c = await chain(N);
    try {
      const cli = await startTool('stackcount', ['--json', '-p', String(c.pid), TP]);
      const agg = start({ tracepoint: TP, pid: [c.pid] });
      const both = start({ tracepoint: TP, pid: [c.pid], perProcess: true, kernel: true });
      try {
        expect(agg.snapshot().stacks).toEqual([]);
        await c.go();
        const snap = agg.snapshot();
        expect(snap.tracepoint).toBe(TP);
        expect(snap.missed).toEqual({ kernel_stacks: 0, user_stacks: 0, counts: 0 });
        expect(snap.stacks).toHaveLength(1);
        const [s] = snap.stacks;
        expect(s).toMatchObject({ comm: 'callchain', count: N });
        expect(s.pid).toBeUndefined();
        expectChain(s);
        expect(s.kernel!.filter((f) => /^(bpf_|__bpf_|perf_|trace_call_bpf)/.test(f))).toEqual([]);
        // totals since start: a second snapshot counts the same again
        expect(agg.snapshot().stacks).toEqual(snap.stacks);

        // -P -K: the PID on the stack, no user frames
        const k = both.snapshot().stacks;
        expect(k).toHaveLength(1);
        expect(k[0]).toEqual({ pid: c.pid, comm: 'callchain', count: N, kernel: s.kernel });

        // the command, traced at the same time, prints the same stack and count
        expect((await cli.stop('SIGINT')).code).toBe(0);
        const lines = cli.lines().filter(Boolean).map((l) => JSON.parse(l) as { tracepoint: string; stacks: CountedStack[] });
        expect(lines, cli.stderr()).toHaveLength(1);
        expect(lines[0].tracepoint).toBe(TP);
        expect(lines[0].stacks).toEqual(snap.stacks);
      } finally {
        await agg.close();
        await both.close();
      }
    } finally {
      await c.end();
    }
  });

  it('close() detaches: no BPF program is left held by this process; snapshot() after close() throws', async () => {
    const c = await chain(5);
    const before = heldPrograms(process.pid);
    const agg = start({ tracepoint: TP, pid: [c.pid], user: true });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before.length);
    await c.go();
    const stacks = agg.snapshot().stacks;
    await c.end();
    expect(stacks).toHaveLength(1);
    expect(stacks[0]).toMatchObject({ comm: 'callchain', count: 5 });
    expect(stacks[0].kernel).toBeUndefined();
    await agg.close();
    await agg.close(); // twice is fine
    expect(heldPrograms(process.pid)).toEqual(before);
    expect(() => agg.snapshot()).toThrow(/after close/);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid);
    const bad: [StackcountOptions, RegExp][] = [
      [{} as StackcountOptions, /name the tracepoint to count stacks at, as CATEGORY:EVENT/],
      [{ tracepoint: 'getppid' }, /'getppid' is not a tracepoint name: use CATEGORY:EVENT/],
      [{ tracepoint: 'nosuchcategory:nosuchevent' }, /no tracepoint nosuchcategory:nosuchevent on this kernel/],
      [{ tracepoint: TP, kernel: true, user: true }, /-K and -U exclude each other/],
      [{ tracepoint: TP, stackStorageSize: 0 }, /--stack-storage-size/],
      [{ tracepoint: TP, pid: [0] }, /--pid/],
    ];
    for (const [o, message] of bad) {
      expect(() => start(o), JSON.stringify(o)).toThrow(message);
      expect(() => start(o), JSON.stringify(o)).toThrow(UsageError);
    }
    expect(heldPrograms(process.pid)).toEqual(before);
  });
});

// Privileged: user stacks walked from call-frame information by the real tools on the real kernel,
// against known call chains and against gdb's backtrace of the same process.
//   - programs built -O2 -fomit-frame-pointer (PIE, not PIE, a function in a dlopen'ed library
//     loaded after the tool started): profile must give main;outer;middle;inner in ≥ 95 % of the
//     samples (the frame-pointer walk gives almost none);
//   - a program built with frame pointers calling libc's wrappers: offcputime (nanosleep) and
//     stackcount -U (getppid) must show inner, the wrapper's caller, which the frame-pointer walk skips;
//   - Debian's python3 blocked in read(): stackcount at syscalls:sys_enter_read against
//     `gdb -p PID -batch -ex bt` of the same call;
//   - a process whose binary exists only in its own mount namespace (read through /proc/PID/root).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainShare as share, fixture, foldedStacks as folded, holdsChain as holds, runToolSync, skipPrivileged, startTool } from '@bpf-recipes/testing';

const CHAIN = ['main', 'outer', 'middle', 'inner'];
const OMIT = ['-O2', '-fomit-frame-pointer'];

interface Held {
  proc: ChildProcess;
  pid: number;
  end(): Promise<void>;
}

/** Start a fixture and wait for its "ready" line; end() closes its stdin and waits for the exit. */
function hold(cmd: string, args: string[]): Promise<Held> {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${cmd} was not ready`)), 10000);
    proc.on('exit', (code) => rej(new Error(`${cmd} exited (${code}) before it was ready`)));
    proc.stdout!.on('data', (d) => {
      out += d;
      if (!/^ready$/m.test(out)) return;
      clearTimeout(t);
      res({
        proc,
        pid: proc.pid!,
        end: () =>
          new Promise<void>((r) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return r();
            proc.on('exit', () => r());
            proc.stdin!.end();
            setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
          }),
      });
    });
  });
}

async function runFor(tool: string, args: string[], ms: number): Promise<{ out: string; err: string; code: number | null }> {
  const t = await startTool(tool, args);
  await new Promise((r) => setTimeout(r, ms));
  const { code } = await t.stop();
  return { out: t.stdout(), err: t.stderr(), code };
}

describe.skipIf(skipPrivileged())('user stacks from call-frame information', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'unwind-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [what, flags] of [
    ['PIE', ['-fPIE', '-pie']],
    ['not PIE', ['-fno-pie', '-no-pie']],
  ] as const) {
    it(`profile: -O2 -fomit-frame-pointer, ${what}: main;outer;middle;inner in >= 95 % of the samples, the frame-pointer walk in few`, async () => {
      const bin = fixture('unwind-chain', [...OMIT, ...flags, '-pthread']);
      const w = await hold(bin, ['spin']);
      try {
        const r = await runFor('profile', ['-p', String(w.pid), '-U', '-F', '199', '--format', 'folded', '-v'], 3000);
        expect(r.code).toBe(0);
        const stacks = folded(r.out);
        const samples = stacks.reduce((n, s) => n + s.count, 0);
        // (other tests share the 2 CPUs: the spinner gets what it gets)
        expect(samples).toBeGreaterThanOrEqual(10);
        // the whole stack, down to the C runtime's entry
        expect(share(stacks, CHAIN), r.out).toBeGreaterThanOrEqual(0.95);
        expect(stacks.every((s) => s.frames[0] === '_start'), r.out).toBe(true);
        // -v: the tables' memory and the walker's counts
        expect(r.err).toMatch(/unwind: \d+ files, \d+ of \d+ rows \([\d.]+ of 16\.0 MiB: --unwind-memory\), 0 evicted, 0 loaded again; \d+ stacks complete, 0 incomplete/);

        const fp = await runFor('profile', ['-p', String(w.pid), '-U', '-F', '199', '--format', 'folded', '--frame-pointers'], 1500);
        expect(fp.code).toBe(0);
        expect(share(folded(fp.out), CHAIN)).toBeLessThan(0.5);
      } finally {
        await w.end();
      }
    });
  }

  it("profile: a function of a library dlopen'ed after the tool started (its table added on the miss)", async () => {
    const bin = fixture('unwind-chain', [...OMIT, '-pthread', '-ldl']);
    const lib = fixture('unwind-lib', [...OMIT, '-shared', '-fPIC']);
    const go = join(dir, 'go-dlopen');
    const w = await hold(bin, ['dlopen', lib, go]);
    try {
      const t = await startTool('profile', ['-p', String(w.pid), '-U', '-F', '199', '--format', 'folded', '-v']);
      writeFileSync(go, '');
      await new Promise((r) => setTimeout(r, 3500));
      await t.stop();
      const stacks = folded(t.stdout());
      const chain = [...CHAIN, 'unwind_lib_spin', 'unwind_lib_work'];
      // samples taken before the new mapping was loaded stop at its first frame, marked: never a wrong stack
      expect(share(stacks, chain), t.stdout()).toBeGreaterThanOrEqual(0.5);
      // (a sample inside dlopen() itself holds main;outer;middle;inner and ld.so's frames)
      for (const s of stacks) expect(holds(s.frames, CHAIN) || s.frames[0] === '[incomplete user stack]', t.stdout()).toBe(true);
      expect(t.stderr()).toMatch(new RegExp(`unwind: ${lib.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ rows`));
    } finally {
      await w.end();
    }
  });

  it("offcputime: a frame-pointer program sleeping in nanosleep(): inner, the wrapper's caller, appears (the frame-pointer walk skips it)", async () => {
    const bin = fixture('unwind-chain', ['-O0', '-fno-omit-frame-pointer', '-pthread']);
    const w = await hold(bin, ['sleep']);
    try {
      const r = await runFor('offcputime', ['-p', String(w.pid), '-U', '--format', 'folded'], 1500);
      const stacks = folded(r.out).filter((s) => s.frames.some((f) => /nanosleep/.test(f)));
      expect(stacks.length, r.out).toBeGreaterThan(0);
      expect(share(stacks, CHAIN)).toBeGreaterThanOrEqual(0.95);
      // the frames under inner are libc's nanosleep wrappers
      for (const s of stacks) if (holds(s.frames, CHAIN)) expect(s.frames.slice(s.frames.indexOf('inner') + 1).every((f) => /nanosleep/.test(f))).toBe(true);

      const fp = await runFor('offcputime', ['-p', String(w.pid), '-U', '--format', 'folded', '--frame-pointers'], 1500);
      const fpStacks = folded(fp.out).filter((s) => s.frames.some((f) => /nanosleep/.test(f)));
      expect(fpStacks.length).toBeGreaterThan(0);
      expect(fpStacks.some((s) => s.frames.includes('inner')), fp.out).toBe(false);
    } finally {
      await w.end();
    }
  });

  it("stackcount -U at sys_enter_getppid: the getppid() wrapper's caller and the whole chain", async () => {
    const bin = fixture('unwind-chain', ['-O0', '-fno-omit-frame-pointer', '-pthread']);
    const w = await hold(bin, ['getppid']);
    try {
      const r = await runFor('stackcount', ['-p', String(w.pid), '-U', '--format', 'folded', 'syscalls:sys_enter_getppid'], 1500);
      const stacks = folded(r.out);
      expect(stacks.reduce((n, s) => n + s.count, 0)).toBeGreaterThanOrEqual(10);
      expect(stacks.length, r.out).toBe(1);
      expect(stacks[0].frames[0]).toBe('_start');
      expect(holds(stacks[0].frames, CHAIN)).toBe(true);
      expect(stacks[0].frames[stacks[0].frames.length - 1]).toMatch(/getppid/);
    } finally {
      await w.end();
    }
  });

  it.runIf(existsSync('/usr/bin/python3'))("Debian's python3 blocked in read(): stackcount at sys_enter_read gives gdb's backtrace", async () => {
    const py = spawn('/usr/bin/python3', ['-c', 'import sys\nprint("ready", flush=True)\nfor line in sys.stdin:\n    pass\n'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res) => py.stdout!.on('data', (d) => /ready/.test(String(d)) && res()));
      await new Promise((r) => setTimeout(r, 200)); // blocked in read() by now
      const bt = execFileSync('gdb', ['-p', String(py.pid), '-batch', '-ex', 'bt'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      // `#N  0xADDR in NAME (...)` (the innermost frame has no address); leaf first
      const gdbFrames = bt
        .split('\n')
        .filter((l) => /^#\d+/.test(l))
        .map((l) => {
          const m = /^#\d+\s+(?:(0x[0-9a-f]+) in )?(\S+)/.exec(l)!;
          return { addr: m[1], name: m[2] };
        });
      expect(gdbFrames.length).toBeGreaterThanOrEqual(10);
      expect(gdbFrames.map((f) => f.name)).toContain('Py_RunMain');

      const t = await startTool('stackcount', ['-p', String(py.pid), '-U', '--format', 'folded', 'syscalls:sys_enter_read']);
      for (let i = 0; i < 5; i++) py.stdin!.write(`line ${i}\n`);
      await new Promise((r) => setTimeout(r, 1200));
      await t.stop();
      const stacks = folded(t.stdout());
      expect(stacks.length, t.stdout()).toBeGreaterThan(0);
      const ours = stacks.sort((a, b) => b.count - a.count)[0].frames.slice().reverse(); // leaf first
      // the same number of frames as gdb, and each frame the same function: by name where both
      // name it, else by python3's address (not PIE: gdb's address is our module offset)
      expect(ours.length, `ours: ${ours.join(';')}\ngdb:\n${bt}`).toBe(gdbFrames.length);
      gdbFrames.forEach((g, i) => {
        const o = ours[i];
        if (g.name === '??') {
          if (g.addr && Number(g.addr) < 0x1000000) expect(o).toBe(`[unknown] (python3.11+0x${BigInt(g.addr).toString(16)})`);
        } else if (!o.startsWith('[unknown]')) {
          // libc's names may differ by alias (__libc_start_main_impl, __libc_start_main_alias_2): python3's must not
          if (!/libc|__GI_|_start_main|read/.test(g.name)) expect(o, `frame ${i}`).toBe(g.name);
        }
      });
      for (const name of ['_PyEval_EvalFrameDefault', 'PyEval_EvalCode', 'Py_RunMain', 'Py_BytesMain', '_start']) expect(ours).toContain(name);
    } finally {
      py.stdin!.end();
      py.kill();
    }
  });

  it('a process whose binary is only in its own mount namespace: its tables read through /proc/PID/root', async () => {
    const bin = fixture('unwind-chain', [...OMIT, '-pthread']);
    const mnt = join(dir, 'private');
    execFileSync('mkdir', ['-p', mnt]);
    // the binary is copied into a tmpfs mounted in a new mount namespace only: the host's path is empty
    const w = await hold('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none ${mnt} && cp ${bin} ${mnt}/ns-chain && exec ${mnt}/ns-chain spin`]);
    try {
      expect(existsSync(join(mnt, 'ns-chain'))).toBe(false);
      const r = await runFor('profile', ['-p', String(w.pid), '-U', '-F', '199', '--format', 'folded'], 3000);
      const stacks = folded(r.out);
      expect(stacks.reduce((n, s) => n + s.count, 0)).toBeGreaterThanOrEqual(10);
      expect(share(stacks, CHAIN), r.out).toBeGreaterThanOrEqual(0.95);
    } finally {
      await w.end();
    }
  });

  it('--unwind-memory: out of range is a usage error', () => {
    for (const bad of ['0', 'lots', '100000', '32K']) {
      const r = runToolSync('profile', ['--unwind-memory', bad, '-d', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--unwind-memory: '.*' is not a size from 64K to 1024M \(MiB, or a number with K, M or G\)/);
    }
  });
});

// Privileged: `TOOL -- COMMAND` walks the command's user stacks by call-frame information from its
// first samples, though the command ends before the tool reads its maps (its program's, loader's
// and libraries' tables are loaded before it starts, and reached through the kernel's VMAs), and
// names them after it has exited. The fixture is built -O2 -fomit-frame-pointer (only call-frame
// information walks it) and burns 0.3 s of CPU in main → outer → middle → inner; gdb's backtrace
// at inner() is the oracle of the chain.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { countOf as counts, fixture, foldedStacks as folded, holdsChain as holds, run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

const OMIT = ['-O2', '-fomit-frame-pointer', '-pthread'];
const INCOMPLETE = '[incomplete user stack]';

/** gdb's backtrace at inner(), root first: the chain as a debugger walks it. */
function gdbChain(bin: string): string[] {
  const bt = execFileSync('gdb', ['-batch', '-ex', 'break inner', '-ex', 'run burn 1 > /dev/null', '-ex', 'bt', bin], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const frames = bt
    .split('\n')
    .map((l) => /^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)/.exec(l)?.[1])
    .filter((f): f is string => f !== undefined);
  return frames.reverse();
}

describe.skipIf(skipPrivileged())('the stack tools -- COMMAND: whole user stacks of a short command', () => {
  const bin = fixture('unwind-chain', OMIT);

  it('gdb walks the fixture as main → outer → middle → inner', () => {
    expect(gdbChain(bin)).toEqual(['main', 'outer', 'middle', 'inner']);
  });

  it("profile -- COMMAND: gdb's chain in >= 95 % of the samples, at most 3 cut (the first sample through each file new to the kernel-side walk), named after the command exited", async () => {
    const chain = gdbChain(bin);
    const r = await run(toolBin('profile'), ['-U', '-F', '499', '--format', 'folded', '-v', '--', bin, 'burn', '300']);
    expect(r.code, r.stderr).toBe(0);
    const stacks = folded(r.stdout);
    const samples = counts(stacks, () => true);
    // 0.3 s of CPU at 499 Hz: about 150 samples (fewer when other tests share the CPUs)
    expect(samples, r.stdout).toBeGreaterThanOrEqual(50);
    expect(counts(stacks, (f) => holds(f, chain)) / samples, r.stdout).toBeGreaterThanOrEqual(0.95);
    // cut: at most the first sample through each of its three files (loader, program, libc), where
    // the kernel answers one VMA lookup a sample
    expect(counts(stacks, (f) => f.includes(INCOMPLETE)), r.stdout).toBeLessThanOrEqual(3);
    // the program's, the loader's and libc's tables loaded before the command started
    expect(r.stderr).toMatch(/unwind: 3 files, \d+ of \d+ rows .* \(loaded in \d+ ms\)/);

    // the frame-pointer walk of the same command: the chain is lost
    const fp = await run(toolBin('profile'), ['-U', '-F', '499', '--format', 'folded', '--frame-pointers', '--', bin, 'burn', '300']);
    expect(fp.code).toBe(0);
    const fpStacks = folded(fp.stdout);
    expect(counts(fpStacks, (f) => holds(f, chain)) / counts(fpStacks, () => true)).toBeLessThan(0.5);
  });

  it('profile -- sh -c: a program the command starts, not loaded before it ran, gets its tables within ms of its first sample', async () => {
    const chain = gdbChain(bin);
    // the shell forks and execs the fixture: the fixture's own program was not loaded up front
    const r = await run(toolBin('profile'), ['-U', '-F', '499', '--format', 'folded', '--', 'sh', '-c', `${bin} burn 300; exit 3`]);
    expect(r.code, r.stderr).toBe(3);
    const stacks = folded(r.stdout);
    const samples = counts(stacks, () => true);
    expect(samples, r.stdout).toBeGreaterThanOrEqual(50);
    expect(counts(stacks, (f) => holds(f, chain)) / samples, r.stdout).toBeGreaterThanOrEqual(0.9);
  });

  it("stackcount -U at a syscall -- COMMAND: every stack is gdb's chain down to _start, none cut", async () => {
    const chain = gdbChain(bin);
    // the fixture asks for its CPU time (clock_gettime, a real syscall for that clock) every few ms
    const r = await run(toolBin('stackcount'), ['-U', '--format', 'folded', 'syscalls:sys_enter_clock_gettime', '--', bin, 'burn', '300']);
    expect(r.code, r.stderr).toBe(0);
    const stacks = folded(r.stdout);
    const calls = counts(stacks, () => true);
    expect(calls).toBeGreaterThanOrEqual(20);
    expect(counts(stacks, (f) => holds(f, chain) && f[0] === '_start'), r.stdout).toBe(calls);
    expect(r.stdout).not.toContain(INCOMPLETE);
    expect(r.stderr).not.toMatch(/could not be walked|walked by frame pointers/);
  });

  it('stackcount -U -- ls: a command that ends within ms: every stack whole and named after it exited, from the loader\'s first open', async () => {
    const r = await run(toolBin('stackcount'), ['-U', '--format', 'folded', 'syscalls:sys_enter_openat', '--', 'ls', '-d', '/']);
    expect(r.code, r.stderr).toBe(0);
    const stacks = folded(r.stdout);
    expect(counts(stacks, () => true)).toBeGreaterThanOrEqual(3);
    // every frame has its file at least (`[unknown] (0x...)`: a process whose maps were not known)
    for (const s of stacks) for (const f of s.frames) expect(f, r.stdout).not.toMatch(/^\[unknown\] \(0x/);
    expect(r.stdout).not.toContain(INCOMPLETE);
    // the loader's own opens (the libraries), and ls's main reached through libc's entry
    expect(stacks.some((s) => s.frames.includes('_dl_map_object')), r.stdout).toBe(true);
    expect(stacks.some((s) => s.frames.includes('__libc_start_call_main')), r.stdout).toBe(true);
  });
});

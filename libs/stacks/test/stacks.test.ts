// libs/stacks without the kernel: option checks, merging named stacks, the folded and JSON shapes,
// the missed-stack notes. The privileged tests of stackcount and offcputime drive it end to end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Output } from '@bpf-recipes/cli';
import { flameStack, jsonStack, mergeRows, missedNotes, parseStackArgs, stackOptionSpecs, type NamedStack } from '../src/index.js';
import { StackWriter, foldedLine } from '../src/writer.js';

const f = (...names: string[]) => names.map((name) => ({ name }));

describe('parseStackArgs', () => {
  it('turns -K/-U/-P/--stack-storage-size/--format/-o into options', () => {
    expect(parseStackArgs({}, false)).toEqual({ kernel: true, user: true, perProcess: false, storage: 16384, format: 'text', fileFormat: false, json: false, framePointers: false, unwindMemoryMb: 16 });
    expect(parseStackArgs({ 'frame-pointers': true, 'unwind-memory': '64' }, false)).toMatchObject({ framePointers: true, unwindMemoryMb: 64 });
    expect(() => parseStackArgs({ 'unwind-memory': '0' }, false)).toThrow(/--unwind-memory/);
    // sizes with units; a bare number is MiB
    expect(parseStackArgs({ 'unwind-memory': '512K' }, false).unwindMemoryMb).toBe(0.5);
    expect(parseStackArgs({ 'unwind-memory': '64k' }, false).unwindMemoryMb).toBe(1 / 16);
    expect(parseStackArgs({ 'unwind-memory': '1.5M' }, false).unwindMemoryMb).toBe(1.5);
    expect(parseStackArgs({ 'unwind-memory': '1G' }, false).unwindMemoryMb).toBe(1024);
    expect(parseStackArgs({ 'unwind-memory': '32MiB' }, false).unwindMemoryMb).toBe(32);
    for (const bad of ['63K', '2G', '1025', 'lots', '-1M', '']) {
      expect(() => parseStackArgs({ 'unwind-memory': bad }, false)).toThrow(new RegExp(`--unwind-memory: '${bad}' is not a size from 64K to 1024M \\(MiB, or a number with K, M or G\\)`));
    }
    expect(parseStackArgs({ kernel: true, 'per-process': true, 'stack-storage-size': '99', format: 'svg', output: 'x.svg' }, true)).toEqual({
      kernel: true, user: false, perProcess: true, storage: 99, format: 'svg', fileFormat: true, output: 'x.svg', json: false, framePointers: false, unwindMemoryMb: 16,
    });
    expect(parseStackArgs({ user: true, json: true }, false)).toMatchObject({ kernel: false, user: true, json: true });
  });

  it('refuses bad combinations with the fix', () => {
    expect(() => parseStackArgs({ kernel: true, user: true })).toThrow(/-K and -U exclude each other/);
    expect(() => parseStackArgs({ format: 'flame' })).toThrow(/--format: 'flame' is not one of text, folded, speedscope, pprof, svg/);
    expect(() => parseStackArgs({ format: 'folded', json: true })).toThrow(/--json and --format exclude each other/);
    expect(() => parseStackArgs({ output: '' })).toThrow(/give a file name/);
    expect(() => parseStackArgs({ format: 'pprof' }, true)).toThrow(/write it to a file with -o FILE/);
    expect(parseStackArgs({ format: 'pprof' }, false).format).toBe('pprof');
    expect(() => parseStackArgs({ 'stack-storage-size': '0' })).toThrow(/stack-storage-size/);
    expect(() => parseStackArgs({ 'stack-storage-size': '262145' })).toThrow(/stack-storage-size/);
  });

  it('says what one number is in --format', () => {
    expect(stackOptionSpecs().format.describe).toContain('with comm and count (default); folded: `comm;root;...;leaf count`');
    expect(stackOptionSpecs('microseconds off CPU').format.describe).toContain('with comm and microseconds off CPU (default); folded: `comm;root;...;leaf N`');
  });
});

describe('merging and shapes', () => {
  const a: NamedStack = { pid: 10, comm: 'app', kernel: f('schedule', 'do_nanosleep'), user: f('b', 'a', 'main') };
  const a2: NamedStack = { pid: 11, comm: 'app', kernel: f('schedule', 'do_nanosleep'), user: f('b', 'a', 'main') };
  const other: NamedStack = { pid: 10, comm: 'app', kernel: f('schedule'), user: undefined };

  it('merges by comm and frame names, or by PID with -P; largest first; zero counts dropped', () => {
    const parts = [{ stack: a, count: 3 }, { stack: a2, count: 4 }, { stack: other, count: 5 }, { stack: other, count: 0 }];
    expect(mergeRows(parts, false).map((r) => [r.pid, r.count])).toEqual([[undefined, 7], [undefined, 5]]);
    expect(mergeRows(parts, true).map((r) => [r.pid, r.count])).toEqual([[10, 5], [11, 4], [10, 3]]);
  });

  it('folded: comm (comm-PID with -P), user frames root first, then kernel frames; `;` in a name cannot split it', () => {
    const [r] = mergeRows([{ stack: a, count: 7 }], false);
    expect(foldedLine(flameStack(r))).toBe('app;main;a;b;do_nanosleep;schedule 7');
    const [p] = mergeRows([{ stack: a, count: 7 }], true);
    expect(foldedLine(flameStack(p))).toBe('app-10;main;a;b;do_nanosleep;schedule 7');
    expect(foldedLine({ frames: f('x;y', 'z\nw'), count: 1 })).toBe('x:y;z w 1');
  });

  it('JSON: frames leaf first, the number under the tool\'s key, stacks not captured left out', () => {
    const [r] = mergeRows([{ stack: other, count: 5 }], false);
    expect(jsonStack(r)).toEqual({ comm: 'app', count: 5, kernel: ['schedule'] });
    expect(jsonStack(r, 'off_cpu_us')).toEqual({ comm: 'app', off_cpu_us: 5, kernel: ['schedule'] });
  });

  it('missed stacks and a full counts map are reported; nothing when nothing was missed', () => {
    expect(missedNotes('t', { kernel_stacks: 0, user_stacks: 0, counts: 0 }, 10)).toEqual([]);
    expect(missedNotes('t', { kernel_stacks: 1, user_stacks: 2, counts: 3 }, 10)).toEqual([
      't: 1 kernel and 2 user stacks could not be stored (stack map full or a hash collision: a larger --stack-storage-size helps); counted as [missed ... stack]',
      't: Lost 3 events: the counts map was full (10 distinct stacks)',
    ]);
    expect(missedNotes('t', { kernel_stacks: 0, user_stacks: 0, counts: 4 }, 10, 'samples')).toEqual(['t: Lost 4 samples: the counts map was full (10 distinct stacks)']);
  });

  it('text: `--` separates kernel from user frames only when there are both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stacks-'));
    try {
      const file = join(dir, 'out.txt');
      const w = new StackWriter({ tool: 't', options: { format: 'text', output: file }, stdout: new Output(1), countName: 'counts' });
      w.open();
      w.write([
        { comm: 'a', kernel: f('k1', 'k2'), user: f('u1'), count: 3 },
        { comm: 'b', kernel: [], user: f('u2'), count: 2 },
        { comm: 'c', pid: 7, kernel: f('k3'), user: [], count: 1 },
        { comm: 'd', user: f('u3'), count: 1 },
      ], { name: 't' });
      expect(readFileSync(file, 'utf8')).toBe(
        ['  k1', '  k2', '  --', '  u1', '    a', '    3', '',
          '  u2', '    b', '    2', '',
          '  k3', '    c [7]', '    1', '',
          '  u3', '    d', '    1', '', ''].join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

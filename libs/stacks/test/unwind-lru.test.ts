// libs/stacks' call-frame tables under their memory bound, without the kernel: the unwinder's maps
// are kept in memory here, the files are this machine's libc, loader and libm. Asserts which
// tables are evicted (the least recently walked), what unwind_files then says of an evicted file
// (no rows, its slot kept: the walker cuts there and counts it), and that a walk through an
// evicted file loads it again.
import { describe, expect, it } from 'vitest';
import { ElfFile, cfiTable } from '@bpf-recipes/symbols';
import { UserUnwinder } from '../src/unwind.js';
import { memMaps, type MemMap } from './mem-maps.js';

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const LD = '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';
const LIBM = '/usr/lib/x86_64-linux-gnu/libm.so.6';

function rowsOf(path: string): number {
  const e = ElfFile.open(path);
  try {
    return cfiTable(e).length;
  } finally {
    e.close();
  }
}

/** unwind_files' entry of `path` (by its inode): first, count, slot. */
function fileEntry(maps: Record<string, MemMap>, slotOf: number): { first: number; count: number; slot: number } | undefined {
  for (const v of maps.unwind_files.m.values()) {
    if (v.readUInt32LE(12) === slotOf) return { first: v.readUInt32LE(0), count: v.readUInt32LE(4), slot: v.readUInt32LE(12) };
  }
  return undefined;
}

function markUsed(maps: Record<string, MemMap>, slot: number): void {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(slot);
  const v = Buffer.alloc(4);
  v.writeUInt32LE(1);
  maps.unwind_used.update(k, v);
}

describe.skipIf(process.arch !== 'x64')('UserUnwinder under --unwind-memory', () => {
  const libc = rowsOf(LIBC);
  const ld = rowsOf(LD);
  const libm = rowsOf(LIBM);

  it('evicts the least recently walked table to make room, cuts at the evicted file, and loads it again when a walk comes through it', () => {
    const maps = memMaps();
    let now = 1000;
    const said: string[] = [];
    // room for libc and the loader, or libc and libm, not all three
    const u = new UserUnwinder(maps, { maxRows: libc + Math.max(ld, libm) + 10, now: () => now, verbose: (m) => said.push(m) });
    expect(u.addFile(LD)).toBe(true); // slot 1
    now += 1000;
    expect(u.addFile(LIBM)).toBe(true); // slot 2
    now += 1000;
    // a walk went through the loader since: libm is now the least recently used
    markUsed(maps, 1);
    u.noteUsed();
    expect(maps.unwind_used.lookup(Buffer.from([1, 0, 0, 0]))!.readUInt32LE(0)).toBe(0); // cleared
    now += 1000;
    expect(u.addFile(LIBC)).toBe(true); // slot 3
    expect(u.loadedFiles()).toEqual([LD, LIBC]);
    expect(said.some((l) => l.startsWith(`unwind: ${LIBM}: its table (${libm} rows) evicted for ${LIBC}'s (least recently used, mapped by no live process: last walked 2.0 s ago)`)), said.join('\n')).toBe(true);
    // libm's entry stays, without rows: the walker cuts there and counts it for want of room
    expect(fileEntry(maps, 2)).toEqual({ first: 0, count: 0, slot: 2 });
    expect(fileEntry(maps, 1)).toMatchObject({ count: ld, slot: 1 });
    expect(fileEntry(maps, 3)).toMatchObject({ count: libc, slot: 3 });
    expect(u.memory()).toMatchObject({ rows: ld + libc, files: 2, left_out: 1, evictions: 1, reloads: 0 });
    // the rows of the two loaded tables do not overlap, and hold each file's table
    const a = fileEntry(maps, 1)!;
    const b = fileEntry(maps, 3)!;
    expect(a.first + a.count <= b.first || b.first + b.count <= a.first).toBe(true);

    // a walk came through libm (it found it evicted) and through the loader, not libc: libm loaded
    // again, libc (now the least recently used) out; the loader, walked since, stays
    now += 1000;
    markUsed(maps, 2);
    markUsed(maps, 1);
    u.noteUsed();
    expect(u.loadedFiles().sort()).toEqual([LD, LIBM].sort());
    expect(fileEntry(maps, 2)).toMatchObject({ count: libm, slot: 2 });
    expect(fileEntry(maps, 3)).toEqual({ first: 0, count: 0, slot: 3 });
    expect(u.memory()).toMatchObject({ rows: libm + ld, evictions: 2, reloads: 1 });
    expect(said).toContain(`unwind: ${LIBM}: loaded again (a walk came through it)`);
    expect(said.some((l) => l.startsWith(`unwind: ${LIBC}: its table (${libc} rows) evicted for ${LIBM}'s`))).toBe(true);
    // libm's rows are its table's again (its first and last rows checked)
    const e = fileEntry(maps, 2)!;
    const elf = ElfFile.open(LIBM);
    const table = cfiTable(elf);
    elf.close();
    for (const i of [0, e.count - 1]) {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(e.first + i);
      expect(maps.unwind_rows.lookup(k)!.readUInt32LE(0)).toBe(table[i].pc);
    }
  });

  it('a table larger than the whole bound is not loaded and evicts nothing', () => {
    const maps = memMaps();
    const said: string[] = [];
    const u = new UserUnwinder(maps, { maxRows: ld + 10, verbose: (m) => said.push(m) });
    expect(u.addFile(LD)).toBe(true);
    expect(u.addFile(LIBC)).toBe(false);
    expect(u.loadedFiles()).toEqual([LD]);
    expect(u.memory()).toMatchObject({ rows: ld, files: 1, left_out: 1, evictions: 0 });
    expect(said.some((l) => l.startsWith(`unwind: ${LIBC}: its table (${libc} rows, `) && l.includes(') is larger than --unwind-memory ('))).toBe(true);
    expect(fileEntry(maps, 2)).toEqual({ first: 0, count: 0, slot: 2 });
  });
});

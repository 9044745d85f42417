// The call-frame tables kept on disk between runs (unwind-cache.ts), without the kernel: the
// unwinder's maps in memory, this machine's libc and loader. Asserts that a second unwinder reads
// the table the first one built (and loads exactly the rows a build gives), that a damaged file is
// built again and replaced, what the name keys on, the directory's size bound (least recently used
// first out), and that a cache that cannot be written costs nothing but the build.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElfFile, cfiTable } from '@bpf-recipes/symbols';
import { UserUnwinder } from '../src/unwind.js';
import { ROW_SIZE, UnwindCache, encodeRows, unwindCacheDir, type TableIdentity } from '../src/unwind-cache.js';
import { memMaps, type MemMap } from './mem-maps.js';

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const LD = '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';

function built(path: string): { buildId: string; rows: Buffer } {
  const e = ElfFile.open(path);
  try {
    return { buildId: e.buildId()!, rows: encodeRows(cfiTable(e)) };
  } finally {
    e.close();
  }
}

/** unwind_rows' rows from `first`, `n` of them, as one buffer. */
function loadedRows(maps: Record<string, MemMap>, first: number, n: number): Buffer {
  const out = Buffer.alloc(n * ROW_SIZE);
  const k = Buffer.alloc(4);
  for (let i = 0; i < n; i++) {
    k.writeUInt32LE(first + i);
    maps.unwind_rows.lookup(k)!.copy(out, i * ROW_SIZE);
  }
  return out;
}

/** unwind_files' only entry: first row, count. */
function onlyFile(maps: Record<string, MemMap>): { first: number; count: number } {
  const [v] = [...maps.unwind_files.m.values()];
  return { first: v.readUInt32LE(0), count: v.readUInt32LE(4) };
}

describe.skipIf(process.arch !== 'x64')('the call-frame tables kept on disk (UnwindCache)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unwind-cache-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a second unwinder reads libc's table from the file the first wrote: the same rows the build gives, and says so", () => {
    const libc = built(LIBC);
    const first = memMaps();
    const u1 = new UserUnwinder(first, { maxRows: 1 << 20, cache: new UnwindCache(dir) });
    expect(u1.addFile(LIBC)).toBe(true);
    expect(u1.memory()).toMatchObject({ files: 1, cached: 0 });
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${libc.buildId}-[0-9a-f]{16}\\.rows$`));
    expect(statSync(join(dir, files[0])).size).toBe(48 + libc.rows.length);

    const second = memMaps();
    const cache = new UnwindCache(dir);
    const u2 = new UserUnwinder(second, { maxRows: 1 << 20, cache });
    expect(u2.addFile(LIBC)).toBe(true);
    expect(u2.memory()).toMatchObject({ files: 1, cached: 1, rows: libc.rows.length / ROW_SIZE });
    expect(cache.stats).toMatchObject({ hits: 1, misses: 0, writes: 0, errors: 0 });
    const f = onlyFile(second);
    expect(loadedRows(second, f.first, f.count).equals(libc.rows)).toBe(true);
  });

  it('the rows come from the file when it is intact: a table written under libc\'s name is what gets loaded', () => {
    const libc = built(LIBC);
    const cache = new UnwindCache(dir);
    const e = ElfFile.open(LIBC);
    const id: TableIdentity = { buildId: libc.buildId, arch: 'x86_64', ehFrame: e.section('.eh_frame')!.size, debugFrame: e.section('.debug_frame')?.size ?? 0n, rowSize: ROW_SIZE };
    e.close();
    // a different (valid) table: libc's first 100 rows only
    cache.put(id, libc.rows.subarray(0, 100 * ROW_SIZE));
    const maps = memMaps();
    const u = new UserUnwinder(maps, { maxRows: 1 << 20, cache: new UnwindCache(dir) });
    expect(u.addFile(LIBC)).toBe(true);
    expect(u.memory()).toMatchObject({ cached: 1, rows: 100 });
  });

  it('a damaged file (a flipped byte, a cut file) is built again and replaced; -v says so', () => {
    const libc = built(LIBC);
    new UserUnwinder(memMaps(), { maxRows: 1 << 20, cache: new UnwindCache(dir) }).addFile(LIBC);
    const [name] = readdirSync(dir);
    const path = join(dir, name);
    const good = readFileSync(path);
    for (const bad of [Buffer.concat([good.subarray(0, 1000), Buffer.from([good[1000] ^ 1]), good.subarray(1001)]), good.subarray(0, good.length - 5)]) {
      writeFileSync(path, bad);
      const said: string[] = [];
      const cache = new UnwindCache(dir, { verbose: (m) => said.push(m) });
      const maps = memMaps();
      const u = new UserUnwinder(maps, { maxRows: 1 << 20, cache });
      expect(u.addFile(LIBC)).toBe(true);
      expect(u.memory()).toMatchObject({ cached: 0 });
      expect(cache.stats).toMatchObject({ hits: 0, misses: 1, writes: 1, errors: 1 });
      expect(said).toContain(`unwind cache: ${path} is damaged: built again`);
      const f = onlyFile(maps);
      expect(loadedRows(maps, f.first, f.count).equals(libc.rows)).toBe(true);
      expect(readFileSync(path).equals(good)).toBe(true);
    }
  });

  it('the name: the build-id, then a tag that changes with the sizes of .eh_frame and .debug_frame, the architecture and the row size', () => {
    const c = new UnwindCache(dir);
    const id: TableIdentity = { buildId: 'ab12', arch: 'x86_64', ehFrame: 1000n, debugFrame: 0n, rowSize: 12 };
    const name = c.nameOf(id);
    expect(name).toMatch(/^ab12-[0-9a-f]{16}\.rows$/);
    expect(c.nameOf({ ...id })).toBe(name);
    const others = [{ debugFrame: 500n }, { ehFrame: 1001n }, { arch: 'aarch64' }, { rowSize: 16 }].map((d) => c.nameOf({ ...id, ...d }));
    expect(new Set([name, ...others]).size).toBe(5);
    expect(c.get({ ...id, debugFrame: 500n })).toBeUndefined();
  });

  it('the directory stays within its bound: the least recently used tables go, never the one just written', () => {
    const cache = new UnwindCache(dir, { maxBytes: 3 * (48 + 1200) });
    const id = (n: number): TableIdentity => ({ buildId: `b${n}`, arch: 'x86_64', ehFrame: 1, debugFrame: 0, rowSize: 12 });
    const rows = Buffer.alloc(1200, 7);
    for (const n of [1, 2, 3]) {
      cache.put(id(n), rows);
      // their use an hour apart, b1 the oldest
      const t = new Date(Date.now() - (4 - n) * 3600_000);
      utimesSync(join(dir, cache.nameOf(id(n))), t, t);
    }
    // a read is a use: b1 becomes the most recently used
    expect(cache.get(id(1))?.equals(rows)).toBe(true);
    cache.put(id(4), rows);
    expect(readdirSync(dir).sort()).toEqual([id(1), id(3), id(4)].map((i) => cache.nameOf(i)).sort());
    expect(cache.stats.removed).toBe(1);
    // a table larger than the whole bound is written, and everything else goes
    cache.put(id(5), Buffer.alloc(12 * 400));
    expect(readdirSync(dir)).toEqual([cache.nameOf(id(5))]);
  });

  it('a cache that cannot be written (its directory is a file): the tables are built and loaded as without one; -v says it once', () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const said: string[] = [];
    const cache = new UnwindCache(join(file, 'unwind'), { verbose: (m) => said.push(m) });
    const maps = memMaps();
    const u = new UserUnwinder(maps, { maxRows: 1 << 20, cache });
    expect(u.addFile(LIBC)).toBe(true);
    expect(u.addFile(LD)).toBe(true);
    expect(u.memory()).toMatchObject({ files: 2, cached: 0 });
    expect(said.filter((m) => m.startsWith('unwind cache: '))).toHaveLength(1);
    expect(said[0]).toMatch(/^unwind cache: cannot write .*: tables are built at each start \(BPF_RECIPES_UNWIND_CACHE=DIR for another directory, =off for none\)$/);
  });

  it('where: BPF_RECIPES_UNWIND_CACHE, else XDG_CACHE_HOME, else ~/.cache; off turns it off', () => {
    expect(unwindCacheDir({ BPF_RECIPES_UNWIND_CACHE: '/x/y', XDG_CACHE_HOME: '/c' })).toBe('/x/y');
    expect(unwindCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/home/u' })).toBe('/c/bpf-recipes/unwind');
    expect(unwindCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/bpf-recipes/unwind');
    expect(unwindCacheDir({ BPF_RECIPES_UNWIND_CACHE: 'off', HOME: '/home/u' })).toBeUndefined();
  });
});

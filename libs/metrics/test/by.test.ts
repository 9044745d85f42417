import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByFolder, CgroupPaths } from '../src/index.js';

const commKey = (comm: string) => {
  const k = Buffer.alloc(24);
  k.write(comm, 8);
  return k;
};

describe('--metrics-by: ByFolder', () => {
  it('keeps the top N by their first value, sums the rest into "other" per label set, loses no count', () => {
    const f = new ByFolder({ by: 'comm', top: 2 });
    const rows = [
      { by: 'a', labels: { syscall: 'write' }, values: [7, 1] },
      { by: 'b', labels: { syscall: 'write' }, values: [5, 0] },
      { by: 'c', labels: { syscall: 'write' }, values: [3, 2] },
      { by: 'd', labels: { syscall: 'write' }, values: [2, 1] },
      { by: 'd', labels: { syscall: 'read' }, values: [4, 0] }, // d: 6 in all, above b
    ];
    const out = f.fold(rows);
    const get = (comm: string, syscall: string) => out.find((r) => r.labels.comm === comm && r.labels.syscall === syscall)?.values;
    expect(get('a', 'write')).toEqual([7, 1]);
    expect(get('d', 'write')).toEqual([2, 1]);
    expect(get('d', 'read')).toEqual([4, 0]);
    expect(get('other', 'write')).toEqual([8, 2]); // b and c
    expect(out.some((r) => r.labels.comm === 'b' || r.labels.comm === 'c')).toBe(false);
    expect(out.reduce((s, r) => s + r.values[0], 0)).toBe(21);
  });

  it('writes no "other" when nothing is folded, and reads a comm up to its NUL', () => {
    const f = new ByFolder({ by: 'comm', top: 5 });
    expect(f.label(commKey('dd'), 8)).toBe('dd');
    expect(f.label(commKey('exactly16bytes!!'), 8)).toBe('exactly16bytes!!');
    expect(f.fold([{ by: 'x', labels: {}, values: [1] }])).toEqual([{ by: 'x', labels: { comm: 'x' }, values: [1] }]);
  });

  it('names a cgroup id by its path under the mount (one walk per scrape), an unknown one by its id', () => {
    const mount = mkdtempSync(join(tmpdir(), 'cg-'));
    try {
      mkdirSync(join(mount, 'a', 'b'), { recursive: true });
      const paths = new CgroupPaths(mount);
      paths.next();
      expect(paths.path(statSync(join(mount, 'a', 'b'), { bigint: true }).ino)).toBe('/a/b');
      expect(paths.path(statSync(mount, { bigint: true }).ino)).toBe('/');
      mkdirSync(join(mount, 'c'));
      const c = statSync(join(mount, 'c'), { bigint: true }).ino;
      expect(paths.path(c)).toBe(`id:${c}`); // this scrape walked already
      paths.next();
      expect(paths.path(c)).toBe('/c');
    } finally {
      rmSync(mount, { recursive: true });
    }
  });
});

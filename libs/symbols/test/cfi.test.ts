// The call-frame table (src/cfi.ts) against binutils' own reading of the same sections
// (`readelf --debug-dump=frames-interp`): every row readelf prints must give the same CFA rule,
// return-address rule and saved frame pointer in our table. Files: a fixture built -O2
// -fomit-frame-pointer (PIE and not), one built with .debug_frame only, libc, and Debian's python3.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CfaKind, ElfFile, FpKind, cfiTable, findRow, type CfiRow } from '../src/index.js';

const fixtures = join(__dirname, '..', '..', 'testing', 'fixtures');
let dir: string;

interface Expected {
  pc: number;
  cfa: string;
  fp: string;
  ra: string;
}

/** readelf's interpreted rows of one section (`.eh_frame` or `.debug_frame`). */
function readelfRows(path: string, section: string): Expected[] {
  // readelf exits 1 on libc (it also looks for a debug file, whose .eh_frame is NOBITS): its output is whole
  const r = spawnSync('readelf', ['--debug-dump=frames-interp', path], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const text = r.stdout;
  if (!text.includes(`Contents of the ${section} section`)) throw new Error(`readelf printed no ${section} of ${path}: ${r.stderr}`);
  const out: Expected[] = [];
  let inSection = false;
  let cols: string[] = [];
  let inFde = false;
  for (const line of text.split('\n')) {
    const c = /^Contents of the (\S+) section/.exec(line);
    if (c) {
      inSection = c[1] === section;
      continue;
    }
    if (!inSection) continue;
    if (/^[0-9a-f]{8,} [0-9a-f]+ [0-9a-f]+ (FDE|CIE)/.test(line)) {
      inFde = line.includes(' FDE ');
      cols = [];
      continue;
    }
    const h = /^\s+LOC\s+(.*)$/.exec(line);
    if (h) {
      cols = h[1].trim().split(/\s+/);
      continue;
    }
    const row = /^([0-9a-f]{16}) (.*)$/.exec(line);
    if (row && inFde && cols.length) {
      const vals = row[2].replace(/ \(\w+\)/g, '').trim().split(/\s+/); // `r10 (r10)`: a register rule, one column
      const get = (name: string) => vals[cols.indexOf(name)] ?? 'u';
      out.push({ pc: Number('0x' + row[1]), cfa: get('CFA'), fp: cols.includes('rbp') ? get('rbp') : 'u', ra: cols.includes('ra') ? get('ra') : 'u' });
    }
  }
  return out;
}

/** What readelf's columns say, in our table's terms. */
function expectedRow(e: Expected): Pick<CfiRow, 'cfa' | 'cfaOffset' | 'fp' | 'fpOffset'> | 'expression' {
  let fp: number = FpKind.UNKNOWN;
  let fpOffset = 0;
  if (e.fp === 'u' || e.fp === 's') fp = FpKind.SAME;
  else if (/^c[+-]\d+$/.test(e.fp)) {
    fp = FpKind.AT;
    fpOffset = Number(e.fp.slice(1));
  }
  if (e.ra === 'u') return { cfa: CfaKind.END, cfaOffset: 0, fp, fpOffset };
  if (e.ra !== 'c-8') return { cfa: CfaKind.UNSUPPORTED, cfaOffset: 0, fp, fpOffset };
  if (e.cfa === 'exp') return 'expression';
  const m = /^(rsp|rbp)\+(\d+)$/.exec(e.cfa);
  if (!m) return { cfa: CfaKind.UNSUPPORTED, cfaOffset: 0, fp, fpOffset };
  return { cfa: m[1] === 'rsp' ? CfaKind.SP : CfaKind.FP, cfaOffset: Number(m[2]), fp, fpOffset };
}

function compare(path: string, section: string, min: number): void {
  const elf = ElfFile.open(path);
  let table: CfiRow[];
  try {
    table = cfiTable(elf);
  } finally {
    elf.close();
  }
  const rows = readelfRows(path, section);
  expect(rows.length).toBeGreaterThanOrEqual(min);
  const bad: string[] = [];
  for (const e of rows) {
    const got = findRow(table, e.pc);
    const want = expectedRow(e);
    if (!got) {
      bad.push(`${e.pc.toString(16)}: no row`);
      continue;
    }
    if (want === 'expression') {
      if (got.cfa !== CfaKind.PLT && got.cfa !== CfaKind.UNSUPPORTED) bad.push(`${e.pc.toString(16)}: expression CFA read as ${JSON.stringify(got)}`);
      continue;
    }
    const g = { cfa: got.cfa, cfaOffset: got.cfaOffset, fp: got.fp, fpOffset: got.fpOffset };
    if (want.cfa === CfaKind.END || want.cfa === CfaKind.UNSUPPORTED) {
      g.cfaOffset = 0; // only the kind matters for these
    }
    if (JSON.stringify(g) !== JSON.stringify(want)) bad.push(`${e.pc.toString(16)}: readelf ${e.cfa} rbp=${e.fp} ra=${e.ra}, ours ${JSON.stringify(g)}`);
  }
  expect(bad.slice(0, 10)).toEqual([]);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cfi-test-'));
  const src = join(fixtures, 'unwind-chain.c');
  execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-pie', '-fPIE', '-o', join(dir, 'pie'), src]);
  execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-no-pie', '-o', join(dir, 'nopie'), src]);
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', join(dir, 'fp'), src]);
  // the fixture's functions in .debug_frame only (the C runtime's start files keep their .eh_frame)
  execFileSync('gcc', ['-O2', '-g', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables', '-o', join(dir, 'dbg'), src]);
}, 60000); // four gcc runs: slow on a loaded machine
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('call-frame tables against readelf --debug-dump=frames-interp', () => {
  it('a fixture built -O2 -fomit-frame-pointer, PIE', () => compare(join(dir, 'pie'), '.eh_frame', 10));
  it('the same, not PIE', () => compare(join(dir, 'nopie'), '.eh_frame', 10));
  it('a fixture built with frame pointers: CFA from rbp, rbp saved at CFA-16', () => {
    compare(join(dir, 'fp'), '.eh_frame', 10);
    const elf = ElfFile.open(join(dir, 'fp'));
    const table = cfiTable(elf);
    elf.close();
    expect(table.some((r) => r.cfa === CfaKind.FP && r.cfaOffset === 16 && r.fp === FpKind.AT && r.fpOffset === -16)).toBe(true);
  });
  it('.debug_frame where .eh_frame leaves functions out', () => {
    compare(join(dir, 'dbg'), '.debug_frame', 4);
    compare(join(dir, 'dbg'), '.eh_frame', 2);
  });
  it("libc: every row, the PLT's expression and the outermost frames", { timeout: 60000 }, () => {
    const libc = '/lib/x86_64-linux-gnu/libc.so.6';
    compare(libc, '.eh_frame', 10000);
    const elf = ElfFile.open(libc);
    const table = cfiTable(elf);
    elf.close();
    // clone3 and _start-like entry points mark the end of the stack
    expect(table.filter((r) => r.cfa === CfaKind.END).length).toBeGreaterThan(0);
  });
  it.runIf(existsSync('/usr/bin/python3'))("Debian's python3 (not PIE, stripped)", { timeout: 60000 }, () => {
    compare('/usr/bin/python3', '.eh_frame', 10000);
  });
  it('a gap between functions has no rule, and so does the end of the text', () => {
    const elf = ElfFile.open(join(dir, 'pie'));
    const table = cfiTable(elf);
    elf.close();
    expect(table[table.length - 1].cfa).toBe(CfaKind.NONE);
    expect(findRow(table, 0)).toBeUndefined();
  });
});

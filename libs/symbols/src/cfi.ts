/**
 * Call-frame information (.eh_frame, .debug_frame) of an ELF file → a compact table an unwinder
 * can search: for each address range, how to find the canonical frame address (CFA: the stack
 * pointer of the caller, just before its call), where the return address is (CFA−8 on x86_64) and
 * where the caller's frame pointer was saved (at CFA+N, or not saved: still in its register).
 *
 * The DWARF call-frame program of every FDE is run (advance, def_cfa*, offset*, restore,
 * remember/restore_state, ...) keeping only the rules the unwinder uses: the CFA's, the return
 * address's and the frame pointer's. A rule the unwinder cannot follow is kept as "unsupported"
 * (never guessed); an undefined return address marks the outermost frame (_start, clone3). The
 * register numbers are the architecture's (X86_64 below): another architecture adds its own
 * numbers and rules, the table and the interpreter stay.
 */
import { ElfFile, type Section } from './elf.js';

/** How the CFA of a row is found. */
export const CfaKind = {
  /** no call-frame information covers the address (JIT code, a gap between FDEs): the unwinder falls back to the frame pointer */
  NONE: 0,
  /** stack pointer + offset */
  SP: 1,
  /** frame pointer + offset */
  FP: 2,
  /** a PLT entry: sp + 8, + 8 more once past the entry's push (offset: the position in the 16-byte entry from which it is) */
  PLT: 3,
  /** the return address is undefined: the outermost frame, the stack is complete */
  END: 4,
  /** a rule the unwinder does not follow (a DWARF expression, a return address not at CFA−8, a CFA in another register) */
  UNSUPPORTED: 5,
} as const;

/** Where the caller's frame pointer is. */
export const FpKind = {
  /** not saved by this frame: the register still holds the caller's value */
  SAME: 0,
  /** saved at CFA + fpOffset */
  AT: 1,
  /** a rule the unwinder cannot follow: the caller's value is unknown */
  UNKNOWN: 2,
} as const;

export interface CfiRow {
  /** first address of the row, as the ELF file's virtual addresses count (below 2^53: a number) */
  pc: number;
  cfa: number;
  cfaOffset: number;
  fp: number;
  fpOffset: number;
}

/** The DWARF register numbers of an architecture that the rules name. */
export interface CfiArch {
  sp: number;
  fp: number;
  /** the return-address column */
  ra: number;
  /** the offset from the CFA where the return address is (x86_64: −8) */
  raOffset: number;
}

export const X86_64: CfiArch = { sp: 7, fp: 6, ra: 16, raOffset: -8 };

/**
 * The version of the tables cfiTable gives: the stack tools keep built tables on disk under it
 * (libs/stacks unwind-cache.ts), so a change here that gives other rows for the same file must
 * bump it (libs/symbols/test/cfi-version.test.ts holds a hash of this file to remind you).
 */
export const CFI_TABLE_VERSION = 1;

export class CfiError extends Error {}


/** A byte reader over one section, with the section's address for pc-relative pointers. */
class Reader {
  pos = 0;
  constructor(readonly b: Buffer, readonly addr: number) {}
  u8(): number {
    if (this.pos >= this.b.length) throw new CfiError('truncated call-frame information');
    return this.b[this.pos++];
  }
  u16(): number {
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = this.b.readUInt32LE(this.pos) + this.b.readUInt32LE(this.pos + 4) * 4294967296;
    this.pos += 8;
    return v;
  }
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if (!(byte & 0x80)) return result;
    }
  }
  sleb(): number {
    let result = 0;
    let mul = 1;
    let byte: number;
    do {
      byte = this.u8();
      result += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    if (byte & 0x40) result -= mul;
    return result;
  }
  cstr(): string {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new CfiError('truncated call-frame information');
    const s = this.b.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  /** A pointer in DW_EH_PE encoding `enc` (datarel/textrel bases are not used on x86_64 ELF). */
  pointer(enc: number): number {
    const at = this.addr + this.pos;
    let v: number;
    switch (enc & 0x0f) {
      case 0x00: v = this.u64(); break;
      case 0x01: v = this.uleb(); break;
      case 0x02: v = this.u16(); break;
      case 0x03: v = this.u32(); break;
      case 0x04: v = this.u64(); break;
      case 0x09: v = this.sleb(); break;
      case 0x0a: v = this.b.readInt16LE(this.pos); this.pos += 2; break;
      case 0x0b: v = this.b.readInt32LE(this.pos); this.pos += 4; break;
      case 0x0c: v = this.b.readInt32LE(this.pos) + this.b.readInt32LE(this.pos + 4) * 4294967296; this.pos += 8; break;
      default: throw new CfiError(`unknown pointer encoding 0x${enc.toString(16)}`);
    }
    if ((enc & 0x70) === 0x10) v += at;
    return v;
  }
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEnc: number;
  hasAug: boolean;
  initial: Buffer;
  addressSize: number;
  /** the state after `initial`, once run */
  initialState?: State;
}

/** The rules of one location, as the call-frame program leaves them. */
interface State {
  cfaReg: number;
  cfaOffset: number;
  /** the CFA is a DWARF expression (its bytes) */
  cfaExpr: Buffer | undefined;
  /** rules of the registers the unwinder reads: 'u' undefined, 's' same, ['o', N] at CFA+N, 'x' anything else */
  ra: Rule;
  fp: Rule;
}
type Rule = 'u' | 's' | 'x' | number;

const clone = (s: State): State => ({ ...s });

/* the PLT's CFA expression, as the linkers write it: sp + 8 + ((rip & 15) >= N) << 3 */
function pltThreshold(e: Buffer): number | undefined {
  // DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litN; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus
  if (e.length === 11 && e[0] === 0x77 && e[1] === 0x08 && e[2] === 0x80 && e[3] === 0x00 && e[4] === 0x3f && e[5] === 0x1a &&
      e[6] >= 0x30 && e[6] <= 0x4f && e[7] === 0x2a && e[8] === 0x33 && e[9] === 0x24 && e[10] === 0x22) {
    return e[6] - 0x30;
  }
  return undefined;
}

function toRow(pc: number, s: State, arch: CfiArch): CfiRow {
  const row: CfiRow = { pc, cfa: CfaKind.UNSUPPORTED, cfaOffset: 0, fp: FpKind.SAME, fpOffset: 0 };
  if (s.fp === 'u' || s.fp === 's') row.fp = FpKind.SAME;
  else if (typeof s.fp === 'number') {
    row.fp = FpKind.AT;
    row.fpOffset = s.fp;
  } else row.fp = FpKind.UNKNOWN;
  if (s.ra === 'u') {
    row.cfa = CfaKind.END;
    return row;
  }
  if (s.ra !== arch.raOffset) return row; // UNSUPPORTED
  if (s.cfaExpr) {
    const n = pltThreshold(s.cfaExpr);
    if (n !== undefined) {
      row.cfa = CfaKind.PLT;
      row.cfaOffset = n;
    }
    return row;
  }
  if (s.cfaReg === arch.sp) row.cfa = CfaKind.SP;
  else if (s.cfaReg === arch.fp) row.cfa = CfaKind.FP;
  else return row;
  row.cfaOffset = s.cfaOffset;
  return row;
}

/**
 * Run one FDE's program (after its CIE's initial instructions) over [start, end): its rows, in
 * address order, the first at `start`.
 */
function runFde(cie: Cie, insns: Buffer, start: number, end: number, arch: CfiArch, sectionAddr: number): CfiRow[] {
  // the CIE's initial instructions set the state every `restore` returns to (run once per CIE)
  const initial = (cie.initialState ??= execute(cie, cie.initial, { cfaReg: arch.sp, cfaOffset: 0, cfaExpr: undefined, ra: 'u', fp: 's' }, undefined, start, arch, sectionAddr).state);
  const { rows } = execute(cie, insns, initial, initial, start, arch, sectionAddr, end);
  return rows;
}

function execute(
  cie: Cie,
  insns: Buffer,
  start: State,
  initial: State | undefined,
  startPc: number,
  arch: CfiArch,
  sectionAddr: number,
  endPc?: number,
): { state: State; rows: CfiRow[] } {
  const r = new Reader(insns, sectionAddr);
  let s = clone(start);
  const stack: State[] = [];
  const rows: CfiRow[] = [];
  let pc = startPc;
  const ca = cie.codeAlign;
  const emit = (next: number) => {
    if (endPc === undefined) return;
    if (next > pc) {
      rows.push(toRow(pc, s, arch));
      pc = next;
    }
  };
  const setRule = (reg: number, rule: Rule) => {
    if (reg === arch.ra || reg === cie.raReg) s.ra = rule;
    if (reg === arch.fp) s.fp = rule;
  };
  const restore = (reg: number) => {
    const from = initial ?? start;
    if (reg === arch.ra || reg === cie.raReg) s.ra = from.ra;
    if (reg === arch.fp) s.fp = from.fp;
  };
  while (r.pos < insns.length) {
    const op = r.u8();
    const hi = op & 0xc0;
    const lo = op & 0x3f;
    if (hi === 0x40) {
      emit(pc + lo * ca);
      continue;
    }
    if (hi === 0x80) {
      setRule(lo, r.uleb() * cie.dataAlign);
      continue;
    }
    if (hi === 0xc0) {
      restore(lo);
      continue;
    }
    switch (op) {
      case 0x00: break; // nop
      case 0x01: emit(r.pointer(cie.fdeEnc)); break; // set_loc
      case 0x02: emit(pc + r.u8() * ca); break;
      case 0x03: emit(pc + r.u16() * ca); break;
      case 0x04: emit(pc + r.u32() * ca); break;
      case 0x05: { const reg = r.uleb(); setRule(reg, r.uleb() * cie.dataAlign); break; } // offset_extended
      case 0x06: restore(r.uleb()); break;
      case 0x07: setRule(r.uleb(), 'u'); break;
      case 0x08: setRule(r.uleb(), 's'); break;
      case 0x09: { const reg = r.uleb(); r.uleb(); setRule(reg, 'x'); break; } // register
      case 0x0a: stack.push(clone(s)); break;
      case 0x0b: { // restore_state: the CFA and the rules, but not the location
        const back = stack.pop();
        if (back) s = back;
        break;
      }
      case 0x0c: s.cfaReg = r.uleb(); s.cfaOffset = r.uleb(); s.cfaExpr = undefined; break;
      case 0x0d: s.cfaReg = r.uleb(); s.cfaExpr = undefined; break;
      case 0x0e: s.cfaOffset = r.uleb(); break;
      case 0x0f: { const n = r.uleb(); s.cfaExpr = insns.subarray(r.pos, r.pos + n); r.pos += n; break; }
      case 0x10: case 0x16: { const reg = r.uleb(); const n = r.uleb(); r.pos += n; setRule(reg, 'x'); break; } // (val_)expression
      case 0x11: { const reg = r.uleb(); setRule(reg, r.sleb() * cie.dataAlign); break; }
      case 0x12: s.cfaReg = r.uleb(); s.cfaOffset = r.sleb() * cie.dataAlign; s.cfaExpr = undefined; break;
      case 0x13: s.cfaOffset = r.sleb() * cie.dataAlign; break;
      case 0x14: { const reg = r.uleb(); r.uleb(); setRule(reg, 'x'); break; } // val_offset
      case 0x15: { const reg = r.uleb(); r.sleb(); setRule(reg, 'x'); break; }
      case 0x2e: r.uleb(); break; // GNU_args_size
      case 0x2f: { const reg = r.uleb(); setRule(reg, -r.uleb() * cie.dataAlign); break; }
      default: throw new CfiError(`unknown call-frame instruction 0x${op.toString(16)}`);
    }
  }
  if (endPc !== undefined && pc < endPc) rows.push(toRow(pc, s, arch));
  return { state: s, rows };
}

function parseCie(r: Reader, end: number, debugFrame: boolean): Cie {
  const version = r.u8();
  const aug = r.cstr();
  let addressSize = 8;
  if (debugFrame && version >= 4) {
    addressSize = r.u8();
    r.u8(); // segment selector size
  }
  const codeAlign = r.uleb();
  const dataAlign = r.sleb();
  const raReg = version === 1 ? r.u8() : r.uleb();
  let fdeEnc = debugFrame ? 0x00 : 0x00;
  const hasAug = aug.startsWith('z');
  if (hasAug) {
    const len = r.uleb();
    const after = r.pos + len;
    for (const c of aug.slice(1)) {
      if (c === 'R') fdeEnc = r.u8();
      else if (c === 'L') r.u8();
      else if (c === 'P') r.pointer(r.u8() & 0x7f); // the personality routine (its indirection does not matter here)
      else if (c === 'S' || c === 'B' || c === 'G') continue;
      else break;
    }
    r.pos = after;
  } else if (aug !== '' && aug !== 'eh') {
    throw new CfiError(`unknown CIE augmentation '${aug}'`);
  }
  return { codeAlign, dataAlign, raReg, fdeEnc, hasAug, initial: r.b.subarray(r.pos, end), addressSize };
}

/**
 * The rows of one call-frame section, one array per FDE (rows in address order). `addr` is the
 * section's virtual address (for pc-relative pointers in .eh_frame).
 */
export function parseCfiSection(data: Buffer, addr: number, debugFrame: boolean, arch: CfiArch = X86_64): { start: number; end: number; rows: CfiRow[] }[] {
  const r = new Reader(data, addr);
  const cies = new Map<number, Cie>();
  const out: { start: number; end: number; rows: CfiRow[] }[] = [];
  while (r.pos + 4 <= data.length) {
    const at = r.pos;
    let length = r.u32();
    let idSize = 4;
    if (length === 0) {
      if (!debugFrame) break; // the terminator of .eh_frame
      continue;
    }
    if (length === 0xffffffff) {
      length = Number(r.u64());
      idSize = 8;
    }
    const bodyAt = r.pos;
    const end = bodyAt + length;
    if (end > data.length) throw new CfiError('an entry runs past the end of its section');
    const idAt = r.pos;
    const id = idSize === 4 ? r.u32() : Number(r.u64());
    const isCie = debugFrame ? id === (idSize === 4 ? 0xffffffff : Number(0xffffffffffffffffn)) : id === 0;
    if (isCie) {
      cies.set(at, parseCie(r, end, debugFrame));
    } else {
      const cieAt = debugFrame ? id : idAt - id;
      let cie = cies.get(cieAt);
      if (!cie) {
        // a CIE after its FDEs (allowed, rare)
        const save = r.pos;
        r.pos = cieAt;
        const len = r.u32();
        r.pos += 4;
        cie = parseCie(r, cieAt + 4 + len, debugFrame);
        cies.set(cieAt, cie);
        r.pos = save;
      }
      const enc = debugFrame ? (cie.addressSize === 4 ? 0x03 : 0x00) : cie.fdeEnc;
      const start = r.pointer(enc);
      const range = r.pointer(enc & 0x0f);
      if (cie.hasAug) {
        const n = r.uleb();
        r.pos += n;
      }
      if (start !== 0 && range !== 0) {
        const insns = data.subarray(r.pos, end);
        if (cie.fdeEnc !== enc) cie.fdeEnc = enc; // .debug_frame: the address size's
        out.push({ start, end: start + range, rows: runFde(cie, insns, start, start + range, arch, addr + r.pos) });
      }
    }
    r.pos = end;
  }
  return out;
}

const sameRule = (a: CfiRow, b: CfiRow): boolean => a.cfa === b.cfa && a.cfaOffset === b.cfaOffset && a.fp === b.fp && a.fpOffset === b.fpOffset;

/**
 * One sorted table of the FDEs' rows: a row starts where its rules start and holds until the next
 * row; a gap between FDEs (and the end of the last) is a NONE row. Rows equal to the one before
 * are left out. Where FDEs overlap (a .debug_frame next to .eh_frame), the first one given wins.
 */
export function buildTable(fdes: { start: number; end: number; rows: CfiRow[] }[]): CfiRow[] {
  const sorted = [...fdes].sort((a, b) => a.start - b.start);
  const out: CfiRow[] = [];
  let covered = 0;
  for (const f of sorted) {
    if (f.start < covered) continue; // overlaps one already in
    const last = out[out.length - 1];
    if (last && covered < f.start) {
      // a gap since the last FDE
      out.push({ pc: covered, cfa: CfaKind.NONE, cfaOffset: 0, fp: FpKind.SAME, fpOffset: 0 });
    }
    for (const row of f.rows) {
      const prev = out[out.length - 1];
      if (prev && prev.pc === row.pc) out.pop();
      const p2 = out[out.length - 1];
      if (p2 && sameRule(p2, row)) continue;
      out.push(row);
    }
    covered = f.end;
  }
  if (out.length) out.push({ pc: covered, cfa: CfaKind.NONE, cfaOffset: 0, fp: FpKind.SAME, fpOffset: 0 });
  return out;
}

/** The row covering `pc` (binary search), or undefined below the first. */
export function findRow(table: readonly CfiRow[], pc: number): CfiRow | undefined {
  let lo = 0;
  let hi = table.length - 1;
  let hit: CfiRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (table[mid].pc <= pc) {
      hit = table[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return hit;
}

function sectionOf(elf: ElfFile, name: string): { data: Buffer; s: Section } | undefined {
  const s = elf.section(name);
  if (!s || s.size === 0n || s.type === 8) return undefined;
  return { data: elf.sectionData(s), s };
}

/**
 * The unwind table of an ELF file: .eh_frame's FDEs, then those of .debug_frame for what
 * .eh_frame leaves out. Empty when the file has neither.
 */
export function cfiTable(elf: ElfFile, arch: CfiArch = X86_64): CfiRow[] {
  const fdes: { start: number; end: number; rows: CfiRow[] }[] = [];
  const eh = sectionOf(elf, '.eh_frame');
  if (eh) fdes.push(...parseCfiSection(eh.data, Number(eh.s.addr), false, arch));
  const dbg = sectionOf(elf, '.debug_frame');
  if (dbg) {
    const covered = new Set(fdes.map((f) => f.start));
    fdes.push(...parseCfiSection(dbg.data, 0, true, arch).filter((f) => !covered.has(f.start)));
  }
  return buildTable(fdes);
}

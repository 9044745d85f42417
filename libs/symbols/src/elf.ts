/**
 * A small ELF64 reader: what symbolization needs and nothing more — section headers, function
 * symbols of .symtab and .dynsym (with their sizes), PT_LOAD segments, the .gnu_debuglink section
 * and the GNU build-id note. The file is read by pieces (headers, then only the sections asked
 * for), so a 100 MB binary such as node costs its symbol tables, not its size.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;

export interface Section {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  entsize: bigint;
}

export interface Segment {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

export class ElfError extends Error {}

/** An ELF64 file opened for reading (or one held in memory: fromBuffer()); close() when done. */
export class ElfFile {
  /** the open file; -1 for one held in memory */
  readonly fd: number;
  readonly size: number;
  readonly little: boolean;
  readonly type: number;
  readonly machine: number;
  readonly sections: Section[];
  readonly segments: Segment[];

  private constructor(
    fd: number,
    readonly path: string,
    private readonly data?: Buffer,
  ) {
    this.fd = fd;
    this.size = data ? data.length : fstatSync(fd).size;
    const ident = this.read(0, 64);
    if (ident.length < 64 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
      throw new ElfError(`${path}: not an ELF file`);
    }
    if (ident[4] !== 2) throw new ElfError(`${path}: not a 64-bit ELF file (ELF32 is not supported)`);
    if (ident[5] !== 1 && ident[5] !== 2) throw new ElfError(`${path}: unknown ELF byte order ${ident[5]}`);
    this.little = ident[5] === 1;
    const h = view(ident);
    this.type = h.getUint16(16, this.little);
    this.machine = h.getUint16(18, this.little);
    const phoff = h.getBigUint64(32, this.little);
    const shoff = h.getBigUint64(40, this.little);
    const phentsize = h.getUint16(54, this.little);
    let phnum = h.getUint16(56, this.little);
    const shentsize = h.getUint16(58, this.little);
    let shnum = h.getUint16(60, this.little);
    let shstrndx = h.getUint16(62, this.little);

    // extended numbering: the real counts live in section header 0
    if (shoff !== 0n && (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff)) {
      const s0 = view(this.read(Number(shoff), 64));
      if (shnum === 0) shnum = Number(s0.getBigUint64(32, this.little));
      if (shstrndx === 0xffff) shstrndx = s0.getUint32(40, this.little);
      if (phnum === 0xffff) phnum = s0.getUint32(44, this.little);
    }

    this.segments = [];
    if (phoff !== 0n && phnum > 0) {
      const ph = view(this.read(Number(phoff), phnum * phentsize));
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        if (o + 56 > ph.byteLength) break;
        this.segments.push({
          type: ph.getUint32(o, this.little),
          flags: ph.getUint32(o + 4, this.little),
          offset: ph.getBigUint64(o + 8, this.little),
          vaddr: ph.getBigUint64(o + 16, this.little),
          filesz: ph.getBigUint64(o + 32, this.little),
          memsz: ph.getBigUint64(o + 40, this.little),
        });
      }
    }

    const raw: Omit<Section, 'name'>[] = [];
    const nameOffs: number[] = [];
    if (shoff !== 0n && shnum > 0) {
      const sh = view(this.read(Number(shoff), shnum * shentsize));
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        if (o + 64 > sh.byteLength) break;
        nameOffs.push(sh.getUint32(o, this.little));
        raw.push({
          type: sh.getUint32(o + 4, this.little),
          flags: sh.getBigUint64(o + 8, this.little),
          addr: sh.getBigUint64(o + 16, this.little),
          offset: sh.getBigUint64(o + 24, this.little),
          size: sh.getBigUint64(o + 32, this.little),
          link: sh.getUint32(o + 40, this.little),
          entsize: sh.getBigUint64(o + 56, this.little),
        });
      }
    }
    const strtab = shstrndx < raw.length ? this.sectionData(raw[shstrndx]) : Buffer.alloc(0);
    this.sections = raw.map((s, i) => ({ ...s, name: cstring(strtab, nameOffs[i]) }));
  }

  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    try {
      return new ElfFile(fd, path);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** An ELF file held in memory (a decompressed MiniDebugInfo); `name` names it in errors. */
  static fromBuffer(data: Buffer, name: string): ElfFile {
    return new ElfFile(-1, name, data);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
  }

  read(offset: number, length: number): Buffer {
    const len = Math.max(0, Math.min(length, this.size - offset));
    if (this.data) return this.data.subarray(offset, offset + len);
    const buf = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, offset + done);
      if (n <= 0) break;
      done += n;
    }
    return done === len ? buf : buf.subarray(0, done);
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  sectionData(s: Omit<Section, 'name'>): Buffer {
    if (s.type === SHT_NOBITS) return Buffer.alloc(0);
    return this.read(Number(s.offset), Number(s.size));
  }

  /** Whether the file has a .symtab with contents (false for stripped files and most debug-less builds). */
  hasSymtab(): boolean {
    const s = this.sections.find((x) => x.type === SHT_SYMTAB);
    return !!s && s.size > 24n;
  }

  /** Defined function symbols (STT_FUNC, STT_GNU_IFUNC) of .symtab and .dynsym. */
  functionSymbols(which: 'symtab' | 'dynsym' | 'both' = 'both'): ElfSymbol[] {
    const out: ElfSymbol[] = [];
    const types = which === 'both' ? [SHT_SYMTAB, SHT_DYNSYM] : [which === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM];
    for (const t of types) {
      for (const s of this.sections) {
        if (s.type !== t || s.size === 0n) continue;
        const strs = s.link < this.sections.length ? this.sectionData(this.sections[s.link]) : Buffer.alloc(0);
        const data = this.sectionData(s);
        const dv = view(data);
        const ent = Number(s.entsize) || 24;
        for (let o = ent; o + 24 <= data.length; o += ent) {
          const info = dv.getUint8(o + 4);
          const kind = info & 0xf;
          if (kind !== STT_FUNC && kind !== STT_GNU_IFUNC) continue;
          const shndx = dv.getUint16(o + 6, this.little);
          if (shndx === 0) continue; // undefined: imported from another object
          const value = dv.getBigUint64(o + 8, this.little);
          if (value === 0n) continue;
          const name = cstring(strs, dv.getUint32(o, this.little));
          if (!name) continue;
          out.push({ name, value, size: dv.getBigUint64(o + 16, this.little) });
        }
      }
    }
    return out;
  }

  /** The .gnu_debuglink section: the debug file's name and the CRC32 of its contents. */
  debugLink(): { name: string; crc: number } | undefined {
    const s = this.section('.gnu_debuglink');
    if (!s) return undefined;
    const data = this.sectionData(s);
    const end = data.indexOf(0);
    if (end <= 0) return undefined;
    const crcAt = (end + 4) & ~3;
    if (crcAt + 4 > data.length) return undefined;
    return { name: data.subarray(0, end).toString('utf8'), crc: view(data).getUint32(crcAt, this.little) };
  }

  /** The GNU build-id as lowercase hex, from a note section (or a PT_NOTE segment). */
  buildId(): string | undefined {
    const blobs: Buffer[] = [];
    for (const s of this.sections) if (s.type === SHT_NOTE) blobs.push(this.sectionData(s));
    if (blobs.length === 0) for (const p of this.segments) if (p.type === 4) blobs.push(this.read(Number(p.offset), Number(p.filesz)));
    for (const b of blobs) {
      const dv = view(b);
      let o = 0;
      while (o + 12 <= b.length) {
        const namesz = dv.getUint32(o, this.little);
        const descsz = dv.getUint32(o + 4, this.little);
        const type = dv.getUint32(o + 8, this.little);
        const nameAt = o + 12;
        const descAt = nameAt + align4(namesz);
        if (descAt + descsz > b.length) break;
        if (type === NT_GNU_BUILD_ID && namesz === 4 && b.toString('latin1', nameAt, nameAt + 3) === 'GNU') {
          return b.subarray(descAt, descAt + descsz).toString('hex');
        }
        o = descAt + align4(descsz);
      }
    }
    return undefined;
  }

  /** PT_LOAD segments only. */
  loads(): Segment[] {
    return this.segments.filter((p) => p.type === PT_LOAD);
  }
}

/**
 * The virtual address (as the symbol tables count) of a file offset, through the PT_LOAD segment
 * that holds it: vaddr = offset − p_offset + p_vaddr. Works alike for PIE, non-PIE and shared
 * objects. Undefined when no segment covers the offset.
 */
export function fileOffsetToVaddr(loads: readonly Segment[], offset: bigint): bigint | undefined {
  for (const p of loads) if (offset >= p.offset && offset < p.offset + p.filesz) return offset - p.offset + p.vaddr;
  for (const p of loads) if (offset >= p.offset && offset < p.offset + p.memsz) return offset - p.offset + p.vaddr;
  return undefined;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function view(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function cstring(b: Buffer, off: number): string {
  if (off >= b.length) return '';
  let end = b.indexOf(0, off);
  if (end < 0) end = b.length;
  return b.toString('utf8', off, end);
}

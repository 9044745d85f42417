/** Just enough ELF64 to read a BPF object's sections and symbol table. */
export interface ElfSection { name: string; type: number; offset: number; size: number; index: number }
export interface ElfSymbol { name: string; value: number; size: number; section: number; type: number }

export interface ElfFile { sections: ElfSection[]; symbols: ElfSymbol[]; data: Buffer }

const SHT_SYMTAB = 2;

function cstr(b: Buffer, off: number): string {
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end < 0 ? b.length : end);
}

export function parseElf(data: Buffer): ElfFile {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (data[4] !== 2) throw new Error('not a 64-bit ELF file');
  if (data[5] !== 1) throw new Error('big-endian BPF objects are not supported');
  const shoff = Number(data.readBigUInt64LE(0x28));
  const shentsize = data.readUInt16LE(0x3a);
  const shnum = data.readUInt16LE(0x3c);
  const shstrndx = data.readUInt16LE(0x3e);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({
      nameOff: data.readUInt32LE(o),
      type: data.readUInt32LE(o + 4),
      offset: Number(data.readBigUInt64LE(o + 0x18)),
      size: Number(data.readBigUInt64LE(o + 0x20)),
      link: data.readUInt32LE(o + 0x28),
      entsize: Number(data.readBigUInt64LE(o + 0x38)),
    });
  }
  const shstr = raw[shstrndx];
  const sections = raw.map((s, index) => ({ name: cstr(data, shstr.offset + s.nameOff), type: s.type, offset: s.offset, size: s.size, index }));
  const symbols: ElfSymbol[] = [];
  const symtab = raw.find((s) => s.type === SHT_SYMTAB);
  if (symtab) {
    const strtab = raw[symtab.link];
    for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += symtab.entsize || 24) {
      symbols.push({
        name: cstr(data, strtab.offset + data.readUInt32LE(o)),
        type: data[o + 4] & 0xf,
        section: data.readUInt16LE(o + 6),
        value: Number(data.readBigUInt64LE(o + 8)),
        size: Number(data.readBigUInt64LE(o + 16)),
      });
    }
  }
  return { sections, symbols, data };
}

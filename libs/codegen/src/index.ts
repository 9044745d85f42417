export { parseElf, type ElfFile, type ElfSection, type ElfSymbol } from './elf.js';
export { Btf, type BtfType, type BtfMember } from './btf.js';
export { readLayout, generateTs, type ObjectLayout, type StructLayout, type Field, type FieldType, type RodataVar, type ScalarType } from './generate.js';

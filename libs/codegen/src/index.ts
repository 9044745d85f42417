export { parseElf, type ElfFile, type ElfSection, type ElfSymbol } from './elf.js';
export { Btf, type BtfType, type BtfMember } from './btf.js';
export { parseHeader, evalInt, type HeaderInfo, type HeaderDefine } from './header.js';
export { readLayout, headerOf, generateTs, skeletonName, type ObjectLayout, type MapInfo, type ProgramInfo, type EnumInfo, type StructLayout, type Field, type FieldType, type RodataVar, type ScalarType } from './generate.js';

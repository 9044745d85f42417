/**
 * From a compiled BPF object to TypeScript: for every struct named with RECIPES_EXPORT() an
 * interface and a decoder at fixed offsets, and for `.rodata` (the `const volatile` config)
 * a typed layout that the core library writes before load.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Btf, type BtfType } from './btf.js';
import { parseElf } from './elf.js';
import { parseHeader, type HeaderDefine } from './header.js';

export type ScalarType = 'bool' | 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64';

export type FieldType =
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'string'; size: number }
  | { kind: 'bytes'; size: number }
  | { kind: 'array'; elem: ScalarType; count: number }
  | { kind: 'struct'; name: string; fields: Field[] }
  | { kind: 'structs'; name: string; fields: Field[]; count: number; stride: number };

export interface Field { name: string; offset: number; size: number; type: FieldType }
export interface StructLayout { name: string; size: number; fields: Field[] }
export interface RodataVar { name: string; offset: number; size: number; type: FieldType }
export interface MapInfo { name: string; type: number }
export interface ProgramInfo { name: string; section: string }
export interface EnumInfo { name: string; values: { name: string; value: number }[] }
export interface ObjectLayout {
  object: string;
  structs: StructLayout[];
  rodata: RodataVar[];
  rodataSize: number;
  /** maps the object defines (the `.maps` section), in the object's order */
  maps?: MapInfo[];
  /** BPF programs: global functions in a program section */
  programs?: ProgramInfo[];
  /** enums of the object's BTF whose enumerators the tool's own header declares */
  enums?: EnumInfo[];
  /** integer `#define`s of the tool's own header */
  defines?: HeaderDefine[];
}

/** libbpf's names of map types (enum bpf_map_type), for the skeleton's comments. */
const MAP_TYPES: Record<number, string> = {
  1: 'HASH', 2: 'ARRAY', 3: 'PROG_ARRAY', 4: 'PERF_EVENT_ARRAY', 5: 'PERCPU_HASH', 6: 'PERCPU_ARRAY', 7: 'STACK_TRACE',
  8: 'CGROUP_ARRAY', 9: 'LRU_HASH', 10: 'LRU_PERCPU_HASH', 11: 'LPM_TRIE', 12: 'ARRAY_OF_MAPS', 13: 'HASH_OF_MAPS',
  19: 'SK_STORAGE', 27: 'RINGBUF', 28: 'INODE_STORAGE', 29: 'TASK_STORAGE',
};

function scalarOf(t: BtfType): ScalarType {
  if (t.kind === 'ENUM' || t.kind === 'ENUM64') return `u${t.size! * 8}` as ScalarType;
  if (t.kind === 'PTR') return 'u64';
  if (t.kind !== 'INT') throw new Error(`not a scalar: ${t.kind} ${t.name}`);
  if (t.encoding === 'BOOL') return 'bool';
  const signed = t.encoding === 'SIGNED' || (t.encoding === 'CHAR' && t.name === 'char');
  return `${signed ? 's' : 'u'}${t.size! * 8}` as ScalarType;
}

function typeOf(btf: Btf, id: number, where: string): FieldType {
  const t = btf.resolve(id);
  switch (t.kind) {
    case 'INT': case 'ENUM': case 'ENUM64': case 'PTR':
      return { kind: 'scalar', type: scalarOf(t) };
    case 'ARRAY': {
      const elem = btf.resolve(t.type_id!);
      if (elem.kind === 'INT' && elem.size === 1) {
        const isChar = elem.name === 'char' || elem.encoding === 'CHAR';
        return isChar ? { kind: 'string', size: t.nr_elems! } : { kind: 'bytes', size: t.nr_elems! };
      }
      if (elem.kind === 'INT' || elem.kind === 'ENUM') return { kind: 'array', elem: scalarOf(elem), count: t.nr_elems! };
      if (elem.kind === 'STRUCT') return { kind: 'structs', name: elem.name, fields: fieldsOf(btf, elem, where), count: t.nr_elems!, stride: elem.size! };
      return { kind: 'bytes', size: btf.sizeOf(id) };
    }
    case 'STRUCT':
      return { kind: 'struct', name: t.name, fields: fieldsOf(btf, t, where) };
    case 'UNION':
      return { kind: 'bytes', size: t.size! };
    default:
      throw new Error(`${where}: BTF kind ${t.kind} has no TypeScript mapping`);
  }
}

function fieldsOf(btf: Btf, t: BtfType, where: string): Field[] {
  return (t.members ?? []).map((m) => {
    if (m.bitfield_size || m.bits_offset % 8 !== 0) throw new Error(`${where}.${m.name}: bitfields are not supported in shared structs`);
    if (!m.name) throw new Error(`${where}: anonymous members are not supported in shared structs`);
    return { name: m.name, offset: m.bits_offset / 8, size: btf.sizeOf(m.type_id), type: typeOf(btf, m.type_id, `${where}.${m.name}`) };
  });
}

/**
 * Where a tool's own header is, for an object built by scripts/build-bpf.mjs:
 * tools/<tool>/dist/bpf/<name>.bpf.o → tools/<tool>/bpf/<name>.h.
 */
export function headerOf(objectPath: string): string {
  const name = basename(objectPath).replace(/\.bpf\.o$/, '').replace(/\.o$/, '');
  return join(dirname(objectPath), '..', '..', 'bpf', `${name}.h`);
}

/**
 * The layout of a compiled object. With the tool's own header (`headerText`, or else the file
 * headerOf() names, when it exists), also the enums and integer `#define`s that header declares.
 */
export function readLayout(objectPath: string, btf = Btf.fromObject(objectPath), headerText?: string): ObjectLayout {
  if (headerText === undefined && existsSync(headerOf(objectPath))) headerText = readFileSync(headerOf(objectPath), 'utf8');
  const elf = parseElf(readFileSync(objectPath));
  const structs: StructLayout[] = [];
  for (const t of btf.byId.values()) {
    if (t.kind !== 'VAR' || !t.name.startsWith('__recipes_export_') || t.name.startsWith('__recipes_export_enum_')) continue;
    const ptr = btf.resolve(t.type_id!);
    const st = ptr.kind === 'PTR' ? btf.resolve(ptr.type_id!) : ptr;
    if (st.kind !== 'STRUCT') throw new Error(`${t.name} does not name a struct`);
    structs.push({ name: st.name, size: st.size!, fields: fieldsOf(btf, st, st.name) });
  }
  structs.sort((a, b) => a.name.localeCompare(b.name));

  const rodataSec = elf.sections.find((s) => s.name === '.rodata');
  const rodata: RodataVar[] = [];
  if (rodataSec) {
    const offsets = new Map(elf.symbols.filter((s) => s.section === rodataSec.index && s.type === 1).map((s) => [s.name, s]));
    const sec = btf.find('DATASEC', '.rodata');
    for (const v of sec?.vars ?? []) {
      const vt = btf.get(v.type_id);
      const sym = offsets.get(vt.name);
      if (!sym) throw new Error(`.rodata variable ${vt.name} has no symbol`);
      rodata.push({ name: vt.name, offset: sym.value, size: sym.size, type: typeOf(btf, vt.type_id!, vt.name) });
    }
    rodata.sort((a, b) => a.offset - b.offset);
  }

  // maps: the variables of the .maps section; their type is the struct __uint(type, N) made
  const maps: MapInfo[] = [];
  for (const v of btf.find('DATASEC', '.maps')?.vars ?? []) {
    const vt = btf.get(v.type_id);
    const def = btf.resolve(vt.type_id!);
    const m = def.members?.find((x) => x.name === 'type');
    const ptr = m && btf.resolve(m.type_id);
    const arr = ptr?.kind === 'PTR' ? btf.resolve(ptr.type_id!) : undefined;
    maps.push({ name: vt.name, type: arr?.kind === 'ARRAY' ? arr.nr_elems! : 0 });
  }

  // programs: global functions whose section is not .text (subprograms live there)
  const STT_FUNC = 2;
  const programs: ProgramInfo[] = [];
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC || !sym.name) continue;
    const sec = elf.sections[sym.section];
    if (!sec || sec.name === '.text' || sec.name.startsWith('.')) continue;
    programs.push({ name: sym.name, section: sec.name });
  }

  let enums: EnumInfo[] | undefined;
  let defines: HeaderDefine[] | undefined;
  if (headerText !== undefined) {
    const h = parseHeader(headerText);
    defines = h.defines;
    enums = [];
    const seen = new Set<string>();
    for (const t of btf.byId.values()) {
      if ((t.kind !== 'ENUM' && t.kind !== 'ENUM64') || !t.values?.length) continue;
      if (!t.values.every((v) => h.enumerators.has(v.name))) continue;
      const key = `${t.name}:${t.values.map((v) => v.name).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const signed = t.encoding === 'SIGNED';
      enums.push({
        name: t.name === '(anon)' ? '' : t.name,
        values: t.values.map((v) => ({ name: v.name, value: signed ? Number(BigInt.asIntN(t.size! * 8, BigInt(v.val))) : Number(v.val) })),
      });
    }
  }
  return { object: basename(objectPath), structs, rodata, rodataSize: rodataSec?.size ?? 0, maps, programs, enums, defines };
}

const pascal = (s: string) => s.split(/[_\W]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');

/** A field's TypeScript type: as decoded from a record, or (`config`) as a config value is given. */
function tsType(t: FieldType, config = false): string {
  switch (t.kind) {
    case 'scalar': return t.type === 'bool' ? 'boolean' : config ? 'number | bigint' : 'number';
    case 'string': return 'string';
    case 'bytes': return 'Uint8Array';
    case 'array': return config ? 'readonly number[]' : 'number[]';
    case 'struct': case 'structs': {
      if (config) return 'Uint8Array';
      const fields = `{ ${t.fields.map((f) => `${f.name}: ${tsType(f.type)}`).join('; ')} }`;
      return t.kind === 'structs' ? `${fields}[]` : fields;
    }
  }
}

const READERS: Record<ScalarType, (o: string) => string> = {
  bool: (o) => `b[${o}] !== 0`,
  u8: (o) => `b[${o}]`,
  s8: (o) => `b.readInt8(${o})`,
  u16: (o) => `b.readUInt16LE(${o})`,
  s16: (o) => `b.readInt16LE(${o})`,
  u32: (o) => `b.readUInt32LE(${o})`,
  s32: (o) => `b.readInt32LE(${o})`,
  u64: (o) => `u64(b, ${o})`,
  s64: (o) => `s64(b, ${o})`,
};
const SCALAR_SIZE: Record<ScalarType, number> = { bool: 1, u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

function reader(t: FieldType, off: string, indent: string): string {
  switch (t.kind) {
    case 'scalar': return READERS[t.type](off);
    case 'string': return `cstr(b, ${off}, ${t.size})`;
    case 'bytes': return `bytes(b, ${off}, ${t.size})`;
    case 'array': {
      const sz = SCALAR_SIZE[t.elem];
      return `[${Array.from({ length: t.count }, (_, i) => READERS[t.elem](`${off} + ${i * sz}`)).join(', ')}]`;
    }
    case 'struct':
      return `{\n${t.fields.map((f) => `${indent}  ${f.name}: ${reader(f.type, `${off} + ${f.offset}`, indent + '  ')},`).join('\n')}\n${indent}}`;
    case 'structs': {
      const one = reader({ kind: 'struct', name: t.name, fields: t.fields }, `${off} + i * ${t.stride}`, indent + '  ');
      return `Array.from({ length: ${t.count} }, (_, i) => (${one}))`;
    }
  }
}

export function generateTs(layout: ObjectLayout): string {
  const out: string[] = [];
  out.push(`// Generated by @bpf-recipes/codegen from the BTF of ${layout.object}. Do not edit: change the C header and rebuild.`);
  out.push(`/* eslint-disable */`);
  const importAt = out.length;
  out.push('');
  if (layout.defines?.length) {
    out.push(`// integer #defines of the tool's header`);
    for (const d of layout.defines) out.push(`export const ${d.name} = ${Number.isSafeInteger(Number(d.value)) ? String(d.value) : `${d.value}n`};`);
    out.push('');
  }
  for (const e of layout.enums ?? []) {
    if (e.name) {
      out.push(`/** enum ${e.name} */`);
      out.push(`export enum ${pascal(e.name)} {`);
      for (const v of e.values) out.push(`  ${v.name} = ${v.value},`);
      out.push('}');
    } else {
      out.push(`// enum { ${e.values.map((v) => v.name).join(', ')} }`);
      for (const v of e.values) out.push(`export const ${v.name} = ${v.value};`);
    }
    out.push('');
  }
  for (const s of layout.structs) {
    const P = pascal(s.name);
    const U = s.name.toUpperCase();
    const big = s.fields.some((f) => f.type.kind === 'array' && f.type.count > 32);
    if (big) throw new Error(`${s.name}: integer arrays over 32 elements are not supported; use a char/u8 array`);
    out.push(`/** struct ${s.name} (${s.size} bytes) */`);
    out.push(`export interface ${P} {`);
    for (const f of s.fields) out.push(`  ${f.name}: ${tsType(f.type)};`);
    out.push('}');
    out.push(`export const ${U}_SIZE = ${s.size};`);
    out.push(`export const ${U}_OFFSETS = { ${s.fields.map((f) => `${f.name}: ${f.offset}`).join(', ')} } as const;`);
    const lengths = s.fields.flatMap((f) => {
      const n = f.type.kind === 'string' || f.type.kind === 'bytes' ? f.type.size : f.type.kind === 'array' || f.type.kind === 'structs' ? f.type.count : undefined;
      return n === undefined ? [] : [`${f.name}: ${n}`];
    });
    if (lengths.length) out.push(`/** elements of the array fields (chars of the strings, with their NUL) */\nexport const ${U}_LENGTHS = { ${lengths.join(', ')} } as const;`);
    out.push(`export function decode${P}(b: Buffer, o: number): ${P} {`);
    out.push('  return {');
    for (const f of s.fields) out.push(`    ${f.name}: ${reader(f.type, `o + ${f.offset}`, '    ')},`);
    out.push('  };');
    out.push('}');
    out.push('');
  }
  out.push(`/** The read-only config (.rodata, ${layout.rodataSize} bytes), written before load. */`);
  out.push(`export const rodata: RodataLayout = {`);
  const rodataType = (t: FieldType) => (t.kind === 'scalar' ? t.type : t.kind === 'array' ? t.elem : t.kind === 'structs' ? 'bytes' : t.kind);
  for (const v of layout.rodata) out.push(`  ${v.name}: ${JSON.stringify({ offset: v.offset, size: v.size, type: rodataType(v.type) })},`);
  out.push('};');
  out.push(`export interface Config {`);
  for (const v of layout.rodata) out.push(`  ${v.name}?: ${tsType(v.type, true)};`);
  out.push('}');
  out.push('');
  const skel = layout.maps !== undefined && layout.programs !== undefined;
  if (skel) out.push(...skeleton(layout));
  const body = out.join('\n');
  const used = ['u64', 's64', 'cstr', 'bytes'].filter((h) => new RegExp(`\\b${h}\\(b,`).test(body));
  const imports = [`import { ${[...used, 'type RodataLayout'].join(', ')} } from '@bpf-recipes/core/decode';`];
  if (skel) {
    const names = ['BpfObject', ...(layout.maps!.length ? ['type BpfMap'] : []), 'type OpenOptions', ...(layout.programs!.length ? ['type Program'] : [])];
    imports.push(`import { ${names.join(', ')} } from '@bpf-recipes/core';`);
  }
  out.splice(importAt, 0, ...imports);
  return out.join('\n');
}

/** The name of an object's skeleton class: biosnoop.bpf.o → BiosnoopSkel. */
export function skeletonName(object: string): string {
  return `${pascal(object.replace(/\.bpf\.o$/, '').replace(/\.o$/, ''))}Skel`;
}

/**
 * A class with a typed member for every map and program of the object, named as in the object: a
 * tool that uses a map or program the object no longer has does not compile.
 */
function skeleton(layout: ObjectLayout): string[] {
  const S = skeletonName(layout.object);
  const maps = layout.maps ?? [];
  const progs = layout.programs ?? [];
  const o: string[] = [];
  o.push(`/** ${layout.object}: its maps and programs by the names they have in the object, and its typed config. */`);
  o.push(`export class ${S} {`);
  o.push(`  static readonly object = ${JSON.stringify(layout.object)};`);
  o.push(`  static readonly rodata = rodata;`);
  o.push(`  static readonly mapNames = [${maps.map((m) => JSON.stringify(m.name)).join(', ')}] as const;`);
  o.push(`  static readonly programNames = [${progs.map((p) => JSON.stringify(p.name)).join(', ')}] as const;`);
  o.push(`  readonly maps: {`);
  for (const m of maps) o.push(`    /** BPF_MAP_TYPE_${MAP_TYPES[m.type] ?? m.type} */`, `    readonly ${m.name}: BpfMap;`);
  o.push(`  };`);
  o.push(`  readonly progs: {`);
  for (const p of progs) o.push(`    /** SEC(${JSON.stringify(p.section)}) */`, `    readonly ${p.name}: Program;`);
  o.push(`  };`);
  o.push(``);
  o.push(`  /** Wrap an opened (not yet loaded) object; throws when it lacks a map or program of the skeleton. */`);
  o.push(`  constructor(readonly obj: BpfObject) {`);
  o.push(`    this.maps = {`);
  for (const m of maps) o.push(`      ${m.name}: obj.map(${JSON.stringify(m.name)}),`);
  o.push(`    };`);
  o.push(`    this.progs = {`);
  for (const p of progs) o.push(`      ${p.name}: obj.program(${JSON.stringify(p.name)}),`);
  o.push(`    };`);
  o.push(`  }`);
  o.push(``);
  o.push(`  static open(path: string, opts?: OpenOptions): ${S} {`);
  o.push(`    const obj = BpfObject.open(path, opts);`);
  o.push(`    try {`);
  o.push(`      return new ${S}(obj);`);
  o.push(`    } catch (e) {`);
  o.push(`      obj.close();`);
  o.push(`      throw e;`);
  o.push(`    }`);
  o.push(`  }`);
  o.push(``);
  o.push(`  /** Write the read-only config (before load). */`);
  o.push(`  setConfig(config: Config): void {`);
  o.push(`    this.obj.setConfig(rodata, { ...config });`);
  o.push(`  }`);
  o.push(``);
  o.push(`  load(): void {`);
  o.push(`    this.obj.load();`);
  o.push(`  }`);
  o.push(``);
  o.push(`  /** Attach every loaded program whose section says where; returns their names. */`);
  o.push(`  attach(): string[] {`);
  o.push(`    return this.obj.attachAll();`);
  o.push(`  }`);
  o.push(``);
  o.push(`  close(): void {`);
  o.push(`    this.obj.close();`);
  o.push(`  }`);
  o.push(`}`);
  o.push('');
  return o;
}

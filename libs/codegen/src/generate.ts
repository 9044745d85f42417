/**
 * From a compiled BPF object to TypeScript: for every struct named with RECIPES_EXPORT() an
 * interface and a decoder at fixed offsets, and for `.rodata` (the `const volatile` config)
 * a typed layout that the core library writes before load.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Btf, type BtfType } from './btf.js';
import { parseElf } from './elf.js';

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
export interface ObjectLayout { object: string; structs: StructLayout[]; rodata: RodataVar[]; rodataSize: number }

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

export function readLayout(objectPath: string, btf = Btf.fromObject(objectPath)): ObjectLayout {
  const elf = parseElf(readFileSync(objectPath));
  const structs: StructLayout[] = [];
  for (const t of btf.byId.values()) {
    if (t.kind !== 'VAR' || !t.name.startsWith('__recipes_export_')) continue;
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
  return { object: basename(objectPath), structs, rodata, rodataSize: rodataSec?.size ?? 0 };
}

const pascal = (s: string) => s.split(/[_\W]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');

function tsType(t: FieldType): string {
  switch (t.kind) {
    case 'scalar': return t.type === 'bool' ? 'boolean' : 'number';
    case 'string': return 'string';
    case 'bytes': return 'Uint8Array';
    case 'array': return 'number[]';
    case 'struct': return `{ ${t.fields.map((f) => `${f.name}: ${tsType(f.type)}`).join('; ')} }`;
    case 'structs': return `{ ${t.fields.map((f) => `${f.name}: ${tsType(f.type)}`).join('; ')} }[]`;
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

function configType(t: FieldType): string {
  switch (t.kind) {
    case 'scalar': return t.type === 'bool' ? 'boolean' : 'number | bigint';
    case 'string': return 'string';
    case 'bytes': return 'Uint8Array';
    case 'array': return 'readonly number[]';
    case 'struct': case 'structs': return 'Uint8Array';
  }
}

export function generateTs(layout: ObjectLayout): string {
  const out: string[] = [];
  out.push(`// Generated by @bpf-recipes/codegen from the BTF of ${layout.object}. Do not edit: change the C header and rebuild.`);
  out.push(`/* eslint-disable */`);
  const importAt = out.length;
  out.push('');
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
  for (const v of layout.rodata) out.push(`  ${v.name}?: ${configType(v.type)};`);
  out.push('}');
  out.push('');
  const body = out.join('\n');
  const used = ['u64', 's64', 'cstr', 'bytes'].filter((h) => new RegExp(`\\b${h}\\(b,`).test(body));
  out.splice(importAt, 0, `import { ${[...used, 'type RodataLayout'].join(', ')} } from '@bpf-recipes/core/decode';`);
  return out.join('\n');
}

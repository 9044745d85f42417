// codegen reads real BTF: it compiles the core tests' fixture (needs clang and bpftool, not root).
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixture } from '../../core/test/build-fixture.js';
import { generateTs, readLayout, type ObjectLayout } from '../src/index.js';

const tools = (() => {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('clang and bpftool are needed under CI=true');
    return false;
  }
})();

describe.skipIf(!tools)('codegen from BTF', () => {
  let layout: ObjectLayout;
  beforeAll(() => {
    layout = readLayout(buildFixture('corefix'));
  });

  it('lays out exported structs at their C offsets', () => {
    const s = layout.structs.find((x) => x.name === 'corefix_event')!;
    expect(s.size).toBe(72);
    expect(s.fields.map((f) => [f.name, f.offset, f.type.kind])).toEqual([
      ['ts_ns', 0, 'scalar'], ['pid', 8, 'scalar'], ['magic', 12, 'scalar'], ['small', 16, 'scalar'], ['flag', 18, 'scalar'],
      ['comm', 19, 'string'], ['raw', 35, 'bytes'], ['arr', 40, 'array'], ['nested', 56, 'struct'],
    ]);
  });

  it('finds .rodata variables with their symbol offsets (not the zeros in BTF)', () => {
    const byName = Object.fromEntries(layout.rodata.map((v) => [v.name, v]));
    expect(byName.cfg_pids).toMatchObject({ offset: 0, size: 64 });
    expect(byName.cfg_npids.offset).toBe(64);
    expect(byName.cfg_magic.size).toBe(4);
    expect(byName.cfg_small.type).toEqual({ kind: 'scalar', type: 's16' });
    expect(byName.cfg_label.type).toEqual({ kind: 'string', size: 8 });
    const offs = layout.rodata.map((v) => v.offset);
    expect(new Set(offs).size).toBe(offs.length);
  });

  it('generates a decoder that reads what C wrote', async () => {
    const src = generateTs(layout);
    expect(src).toContain('export interface CorefixEvent {');
    expect(src).toContain('export const COREFIX_EVENT_SIZE = 72;');
    // run the generated decoder on bytes laid out like the kernel's struct
    const b = Buffer.alloc(72);
    b.writeBigUInt64LE(123456789012345n, 0);
    b.writeUInt32LE(42, 8);
    b.writeInt16LE(-5, 16);
    b[18] = 1;
    b.write('node\0', 19);
    b.set([1, 2, 3], 35);
    b.writeUInt32LE(40, 52);
    b.writeUInt16LE(7, 56);
    b.writeBigUInt64LE(0x100000001n, 64);
    const js = src
      .replace(/^import .*$/m, '')
      .replace(/export (interface|type) [\s\S]*?\n}\n/g, '')
      .replace(/: [A-Za-z]+(\[\])?(?=[,)])/g, '')
      .replace(/\): [A-Za-z]+ \{/g, ') {')
      .replace(/export const rodata: RodataLayout/, 'export const rodata')
      .replace(/ as const;/g, ';')
      .replace(/export /g, '');
    const { u64, s64, cstr, bytes } = await import('../../core/src/decode.js');
    const decode = Function('u64', 's64', 'cstr', 'bytes', `${js}; return decodeCorefixEvent;`)(u64, s64, cstr, bytes);
    expect(decode(b, 0)).toEqual({
      ts_ns: 123456789012345, pid: 42, magic: 0, small: -5, flag: 1, comm: 'node', raw: new Uint8Array([1, 2, 3]),
      arr: [0, 0, 0, 40], nested: { a: 7, b: 0x100000001 },
    });
  });

  it('refuses what it cannot map rather than guessing', () => {
    expect(() => generateTs({ object: 'x', rodata: [], rodataSize: 0, structs: [{ name: 'big', size: 400, fields: [{ name: 'a', offset: 0, size: 400, type: { kind: 'array', elem: 'u32', count: 100 } }] }] })).toThrow(/over 32 elements/);
  });
});

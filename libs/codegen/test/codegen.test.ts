// codegen reads real BTF: it compiles the core tests' fixture (needs clang and bpftool, not root).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixture } from '../../core/test/build-fixture.js';
import { evalInt, generateTs, parseHeader, readLayout, type ObjectLayout } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

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
    const src = generateTs({ ...layout, maps: undefined, programs: undefined });
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

describe.skipIf(!tools)('skeleton, enums and constants from BTF and the header (golden)', () => {
  const fixtures = join(here, 'fixtures');
  let layout: ObjectLayout;
  beforeAll(() => {
    layout = { ...readLayout(buildFixture('skelfix', fixtures), undefined, readFileSync(join(fixtures, 'skelfix.h'), 'utf8')), object: 'skelfix.bpf.o' };
  });

  // the header's anonymous enum has no typed use in the object, so it is not in BTF and not emitted
  it('finds the maps, programs, enums and #defines of the object and its header', () => {
    // recipes.h's own: the zeros new keys start from, the set of a traced command's processes and its three programs (not loaded unless asked for)
    expect(layout.maps!.map((m) => [m.name, m.type])).toEqual([['counts', 2], ['recipes_zero', 2], ['recipes_traced', 1], ['events', 27], ['lost_events', 6]]);
    expect(layout.programs).toEqual([
      { name: 'recipes_traced_fork', section: '?tp_btf/sched_process_fork' },
      { name: 'recipes_traced_exec', section: '?tp_btf/sched_process_exec' },
      { name: 'recipes_traced_exit', section: '?tp_btf/sched_process_exit' },
      { name: 'skelfix_enter', section: 'tracepoint/syscalls/sys_enter_getppid' },
      { name: 'skelfix_exit', section: 'raw_tp/sys_exit' },
    ]);
    expect(layout.enums).toEqual([
      { name: 'skelfix_kind', values: [{ name: 'SKELFIX_KIND_READ', value: 1 }, { name: 'SKELFIX_KIND_WRITE', value: 2 }, { name: 'SKELFIX_KIND_OTHER', value: 10 }] },
      { name: 'skelfix_dir', values: [{ name: 'SKELFIX_DIR_IN', value: 16 }, { name: 'SKELFIX_DIR_OUT', value: 32 }] },
    ]);
    expect(Object.fromEntries(layout.defines!.map((d) => [d.name, d.value]))).toEqual({
      SKELFIX_SLOTS: 16n, SKELFIX_F_A: 1n, SKELFIX_F_B: 8n, SKELFIX_MASK: 9n, SKELFIX_BIG: 1n << 40n, SKELFIX_NEG: -2n, SKELFIX_HEX: 127n,
    });
  });

  it('finds the header where build-bpf leaves the object: tools/<tool>/dist/bpf/<name>.bpf.o → tools/<tool>/bpf/<name>.h', () => {
    const tool = mkdtempSync(join(tmpdir(), 'bpf-recipes-codegen-'));
    try {
      mkdirSync(join(tool, 'dist', 'bpf'), { recursive: true });
      mkdirSync(join(tool, 'bpf'));
      copyFileSync(buildFixture('skelfix', fixtures), join(tool, 'dist', 'bpf', 'skelfix.bpf.o'));
      copyFileSync(join(fixtures, 'skelfix.h'), join(tool, 'bpf', 'skelfix.h'));
      const found = readLayout(join(tool, 'dist', 'bpf', 'skelfix.bpf.o'));
      expect(found.defines).toEqual(layout.defines);
      expect(found.enums).toEqual(layout.enums);
      rmSync(join(tool, 'bpf', 'skelfix.h'));
      expect(readLayout(join(tool, 'dist', 'bpf', 'skelfix.bpf.o')).defines).toBeUndefined();
    } finally {
      rmSync(tool, { recursive: true, force: true });
    }
  });

  it('generates the text in golden/skelfix.ts (UPDATE_GOLDEN=1 rewrites it)', () => {
    const src = generateTs(layout);
    const golden = join(here, 'golden', 'skelfix.ts.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, src);
    expect(src).toBe(readFileSync(golden, 'utf8'));
  });

  it('generates TypeScript that type-checks, and neither a renamed map nor a misspelt config variable does', async () => {
    const ts = await import('typescript');
    const uses = 'export const used = [s.maps.counts, s.maps.events, s.progs.skelfix_exit, SkelfixKind.SKELFIX_KIND_WRITE, SKELFIX_MASK];';
    const check = (src: string, extra = `${uses}\ns.setConfig({ cfg_kind: SkelfixKind.SKELFIX_KIND_OTHER });`) => {
      const file = '/virtual/skel.ts';
      const use = `${src}\ndeclare const s: SkelfixSkel;\n${extra}\n`;
      const host = ts.createCompilerHost({});
      const orig = host.getSourceFile.bind(host);
      host.getSourceFile = (name, lang) => (name === file ? ts.createSourceFile(name, use, lang) : orig(name, lang));
      const program = ts.createProgram([file], { noEmit: true, strict: true, noUnusedLocals: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, baseUrl: join(here, '..'), paths: { '@bpf-recipes/core': ['../core/src/index.ts'], '@bpf-recipes/core/decode': ['../core/src/decode.ts'] }, types: ['node'] }, host);
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    };
    const src = generateTs(layout);
    expect(check(src)).toEqual([]);
    const renamed = generateTs({ ...layout, maps: layout.maps!.map((m) => (m.name === 'counts' ? { ...m, name: 'totals' } : m)) });
    expect(check(renamed).join('\n')).toMatch(/Property 'counts' does not exist/);
    expect(check(src, 's.setConfig({ cfg_knid: 1 });').join('\n')).toMatch(/'cfg_knid' does not exist in type 'Config'/);
    // an object without maps (or programs) imports nothing it does not use (noUnusedLocals)
    expect(check(generateTs({ ...layout, maps: [], programs: [] }), 'export const o = s.obj;')).toEqual([]);
  }, 300_000); // four tsc runs: over 120 s seen at load ~20
});

describe('header constants', () => {
  it('evaluates C integer expressions as the preprocessor does, and refuses the rest', () => {
    const known = new Map([['A', 4n]]);
    expect(evalInt('(A << 2) | 1', known)).toBe(17n);
    expect(evalInt('~0', known)).toBe(-1n);
    expect(evalInt('010', known)).toBe(8n);
    expect(evalInt('7 / 2 - 1', known)).toBe(2n);
    expect(evalInt('2 + 3 * 4', known)).toBe(14n);
    expect(evalInt('B + 1', known)).toBeUndefined();
    expect(evalInt('"x"', known)).toBeUndefined();
    expect(evalInt('1 +', known)).toBeUndefined();
    expect(evalInt('sizeof(int)', known)).toBeUndefined();
  });

  it('reads #defines and enumerators, not function-like macros, guards or enums of other headers', () => {
    const h = parseHeader('#ifndef G\n#define G\n#define N 3 /* c */\n#define F(x) (x)\n#define M (N \\\n  + 1)\nenum e { X = 1, Y };\n');
    expect(h.defines).toEqual([{ name: 'N', value: 3n }, { name: 'M', value: 4n }]);
    expect([...h.enumerators]).toEqual(['X', 'Y']);
  });

  it('a #define may use the header\'s enumerators (explicit values, and the ones after them counted on)', () => {
    const h = parseHeader('enum f { A = 2, B, C = 1 << 3, D };\n#define W ((1 << B) | (1 << D))\n#define U (A + Z)\n');
    expect(h.defines).toEqual([{ name: 'W', value: (1n << 3n) | (1n << 9n) }]);
    expect([...h.enumerators]).toEqual(['A', 'B', 'C', 'D']);
  });
});

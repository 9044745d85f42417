// C++ names: a program this test builds with g++ (namespace, overloads, templates, a class
// template, a const method, std types, a lambda) and the system's libstdc++, named through
// /proc/PID/maps while they run, checked against binutils' nm + c++filt for the same symbols.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Demangler, frameLabel, isMangled, Symbolizer, UserSymbolizer } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'fixtures', 'kitchen.cpp');

let dir: string;
const bin: Record<'pie' | 'nopie', string> = { pie: '', nopie: '' };

interface Sym {
  addr: bigint;
  size: bigint;
  mangled: string;
}

/** Defined function symbols (t/T/w/W) with a size, as nm lists them (not demangled). */
function nmFunctions(path: string, dynamic = false): Sym[] {
  const args = dynamic ? ['-D', '--defined-only', '-S', path] : ['-S', path];
  const out: Sym[] = [];
  for (const line of execFileSync('nm', args, { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwWi] (\S+)$/.exec(line);
    if (m && BigInt('0x' + m[2]) > 0n) out.push({ addr: BigInt('0x' + m[1]), size: BigInt('0x' + m[2]), mangled: m[3].replace(/@.*$/, '') });
  }
  return out;
}

/**
 * c++filt over many names at once: one name a line in, one a line out. -i (--no-verbose): the
 * standard abbreviations kept (std::string, not std::basic_string<char, …>), as the C++ runtime's
 * demangler and perf print them.
 */
function cxxfilt(names: readonly string[]): string[] {
  const out = execFileSync('c++filt', ['-i'], { input: names.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
  return out.slice(0, names.length);
}

/** address → the c++filt names of every symbol there (aliases such as C1/C2 constructors share one) */
function expectedByAddress(syms: readonly Sym[]): Map<bigint, { size: bigint; names: Set<string> }> {
  const filtered = cxxfilt(syms.map((s) => s.mangled));
  const by = new Map<bigint, { size: bigint; names: Set<string> }>();
  syms.forEach((s, i) => {
    const e = by.get(s.addr) ?? { size: s.size, names: new Set<string>() };
    e.names.add(filtered[i]);
    by.set(s.addr, e);
  });
  return by;
}

interface Live {
  proc: ChildProcess;
  pid: number;
  main: bigint;
}

async function startLive(path: string): Promise<Live> {
  const proc = spawn(path, ['wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`fixture exited early (${code})`)));
    proc.on('error', reject);
  });
  return { proc, pid: proc.pid!, main: BigInt('0x' + /^main 0x([0-9a-f]+)$/m.exec(out)![1]) };
}

async function stopLive(l: Live): Promise<void> {
  const done = new Promise((r) => l.proc.on('exit', r));
  l.proc.stdin!.end();
  await done;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-demangle-'));
  bin.pie = join(dir, 'kitchen-pie');
  bin.nopie = join(dir, 'kitchen-nopie');
  const flags = ['-O0', '-fno-inline', '-fno-omit-frame-pointer'];
  execFileSync('g++', [...flags, '-fPIE', '-pie', '-o', bin.pie, source]);
  execFileSync('g++', [...flags, '-fno-pie', '-no-pie', '-o', bin.nopie, source]);
  // g++ with <string> and <vector> takes seconds, more on a busy machine
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Demangler', () => {
  it('demangles Itanium names as c++filt does and leaves every other name as it is', () => {
    const d = new Demangler();
    const names = ['_ZN7recipes7kitchen4bakeEi', '_ZNK7recipes7kitchen3PotIlLi3EE3sumEv', '_ZZN7recipes7kitchen5serveEiENKUliE_clEi', '_Z4stirv.cold'];
    expect(names.map((n) => d.demangle(n))).toEqual(cxxfilt(names));
    expect(d.demangle('_ZN7recipes7kitchen4bakeEi')).toBe('recipes::kitchen::bake(int)');
    // C names, kernel names, JIT names and names the demangler rejects stay as they are
    for (const n of ['main', 'do_sys_openat2', 'LazyCompile:*handler /srv/app.js:10', '_Zzz_not_a_name', '_Z', 'Z3foov']) expect(d.demangle(n)).toBe(n);
    expect(isMangled('_ZN3fooEv')).toBe(true);
    expect(isMangled('__ZN3fooEv')).toBe(false);
    expect(d.unavailable).toBeUndefined();
  });

  it('without the C++ runtime, names stay mangled and why is told once', () => {
    const said: string[] = [];
    const d = new Demangler({ library: 'libstdc++-absent.so.6', log: (m) => said.push(m) });
    expect(d.demangle('_ZN7recipes7kitchen4bakeEi')).toBe('_ZN7recipes7kitchen4bakeEi');
    expect(d.demangle('_ZN7recipes7kitchen5serveEi')).toBe('_ZN7recipes7kitchen5serveEi');
    expect(said).toEqual(['libstdc++-absent.so.6 not found: C++ names stay mangled (install libstdc++6 to demangle them)']);
    expect(d.unavailable).toBe(said[0]);
  });

  it('loads nothing for C names: no mangled name, no reason to look for the runtime', () => {
    const said: string[] = [];
    const d = new Demangler({ library: 'libstdc++-absent.so.6', log: (m) => said.push(m) });
    expect(d.demangle('recipe_alpha')).toBe('recipe_alpha');
    expect(said).toEqual([]);
    expect(d.unavailable).toBeUndefined();
  });
});

describe('C++ frames of a live process', { timeout: 60_000 }, () => {
  for (const kind of ['pie', 'nopie'] as const) {
    it(`names every C++ function of a g++-built program as c++filt names its nm symbol (${kind})`, async () => {
      const path = bin[kind];
      const syms = nmFunctions(path);
      const mainSym = syms.find((s) => s.mangled === 'main')!;
      const cxx = syms.filter((s) => isMangled(s.mangled));
      const expected = expectedByAddress(cxx);
      // the fixture's own functions are there, with the names c++filt gives them
      const all = new Set([...expected.values()].flatMap((e) => [...e.names]));
      for (const n of [
        'recipes::kitchen::bake(int)',
        'recipes::kitchen::bake(double, char const*)',
        'int recipes::kitchen::stir<int>(int)',
        'double recipes::kitchen::stir<double>(double)',
        'recipes::kitchen::Pot<long, 3>::sum() const',
        'recipes::kitchen::Oven::heat(int) const',
        'recipes::kitchen::serve(int)::{lambda(int)#1}::operator()(int) const',
      ])
        expect(all).toContain(n);
      // and the std:: code the templates pulled in
      expect(expected.size).toBeGreaterThan(20);

      const live = await startLive(path);
      try {
        const bias = live.main - mainSym.addr;
        expect(kind === 'nopie' ? bias : 0n).toBe(0n);
        const sym = new Symbolizer();
        const addrs = [...expected.keys()];
        // one stack of every function, each address inside it (start, middle, last byte)
        const ips = addrs.flatMap((a) => {
          const size = expected.get(a)!.size;
          return [a, a + size / 2n, a + size - 1n].map((x) => x + bias);
        });
        const frames = sym.userStack(live.pid, ips);
        frames.forEach((f, i) => {
          const a = addrs[Math.floor(i / 3)];
          expect(f.module).toBe(basename(path));
          expect(expected.get(a)!.names).toContain(f.name);
          expect(f.offset).toBe(f.ip - bias - a);
        });
        expect(frames.filter((f) => isMangled(frameLabel(f)))).toEqual([]);
        expect(sym.user.demangler.unavailable).toBeUndefined();
      } finally {
        await stopLive(live);
      }
    });
  }

  it('names C++ frames of the libstdc++ the process loaded, as c++filt names its dynamic symbols', async () => {
    const live = await startLive(bin.pie);
    try {
      const maps = readFileSync(`/proc/${live.pid}/maps`, 'utf8').split('\n');
      const first = maps.find((l) => /\/libstdc\+\+\.so\.6[.\d]*$/.test(l) && / 00000000 /.test(l))!;
      expect(first).toBeDefined();
      const libPath = first.slice(first.indexOf('/'));
      const base = BigInt('0x' + first.split('-')[0]);
      const expected = expectedByAddress(nmFunctions(libPath, true).filter((s) => isMangled(s.mangled)));
      expect(expected.size).toBeGreaterThan(1000);
      // every 50th exported C++ function, in one stack (addresses + 1: inside, not at the start)
      const addrs = [...expected.keys()].sort((a, b) => (a < b ? -1 : 1)).filter((_, i) => i % 50 === 0);
      const frames = new UserSymbolizer().symbolize(
        live.pid,
        addrs.map((a) => base + a + 1n),
      );
      frames.forEach((f, i) => {
        expect(f.module).toBe(basename(libPath));
        expect(expected.get(addrs[i])!.names).toContain(f.name);
      });
    } finally {
      await stopLive(live);
    }
  });

  it('demangles C++ names a JIT wrote to its perf map, and leaves its other names alone', async () => {
    const live = await startLive(bin.pie);
    const mapFile = `/tmp/perf-${live.pid}.map`;
    try {
      // below mmap_min_addr: never mapped, so looked up in the perf map
      writeFileSync(mapFile, '10000 100 _ZN3jit6Module7compileERKSsi\n10100 100 LazyCompile:*handler /srv/app.js:10\n');
      const frames = new UserSymbolizer().symbolize(live.pid, [0x10010n, 0x10104n]);
      expect(frames.map((f) => [f.name, f.module])).toEqual([
        [cxxfilt(['_ZN3jit6Module7compileERKSsi'])[0], '[perf-map]'],
        ['LazyCompile:*handler /srv/app.js:10', '[perf-map]'],
      ]);
      expect(frames[0].name).toBe('jit::Module::compile(std::string const&, int)');
    } finally {
      rmSync(mapFile, { force: true });
      await stopLive(live);
    }
  });

  it('without the C++ runtime, the same frames are named by their mangled symbols (no error), told once', async () => {
    const live = await startLive(bin.pie);
    try {
      const syms = nmFunctions(bin.pie);
      const bias = live.main - syms.find((s) => s.mangled === 'main')!.addr;
      const bake = syms.find((s) => s.mangled === '_ZN7recipes7kitchen4bakeEi')!;
      const serve = syms.find((s) => s.mangled === '_ZN7recipes7kitchen5serveEi')!;
      const said: string[] = [];
      const sym = new Symbolizer({ cxxRuntime: 'libstdc++-absent.so.6', log: (m) => said.push(m) });
      expect(sym.userStack(live.pid, [bake.addr + bias + 1n, serve.addr + bias]).map((f) => f.name)).toEqual([bake.mangled, serve.mangled]);
      expect(sym.userStack(live.pid, [serve.addr + bias + 2n]).map((f) => f.name)).toEqual([serve.mangled]);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/libstdc\+\+-absent\.so\.6 not found: C\+\+ names stay mangled/);
    } finally {
      await stopLive(live);
    }
  });
});

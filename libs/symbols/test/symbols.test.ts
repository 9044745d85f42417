// Symbolization against binaries this test builds with gcc (known function names; PIE, non-PIE,
// stripped with a debuglink or a build-id debug file), checked against binutils' nm and addr2line,
// and against a live process through its /proc/PID/maps.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bpfFramesOnTop,
  crc32File,
  ElfFile,
  ElfModule,
  frameLabel,
  KernelSymbols,
  parseMaps,
  parsePerfMapLines,
  PerfMap,
  Symbolizer,
  UserSymbolizer,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'fixtures', 'chain.c');
const FUNCS = ['recipe_alpha', 'recipe_beta', 'recipe_gamma', 'recipe_static_helper'];
const isRoot = process.getuid?.() === 0;

let dir: string;
const bin: Record<string, string> = {};

function gcc(out: string, extra: string[]): void {
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-fno-inline', '-g', '-Wl,--build-id', ...extra, '-o', out, source]);
}

/** nm -S: name → { addr, size } of the fixture's functions */
function nm(path: string): Map<string, { addr: bigint; size: bigint }> {
  const out = new Map<string, { addr: bigint; size: bigint }>();
  for (const line of execFileSync('nm', ['-S', path], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tT] (recipe_\w+)$/.exec(line);
    if (m) out.set(m[3], { addr: BigInt('0x' + m[1]), size: BigInt('0x' + m[2]) });
  }
  return out;
}

function addr2lineFunc(path: string, addr: bigint): string {
  return execFileSync('addr2line', ['-f', '-e', path, '0x' + addr.toString(16)], { encoding: 'utf8' }).split('\n')[0];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-symbols-'));
  bin.pie = join(dir, 'chain-pie');
  bin.nopie = join(dir, 'chain-nopie');
  gcc(bin.pie, ['-fPIE', '-pie']);
  gcc(bin.nopie, ['-fno-pie', '-no-pie']);
  // stripped, debug file next to it (debuglink)
  bin.debugNext = join(dir, 'next', 'chain-stripped');
  mkdirSync(dirname(bin.debugNext));
  execFileSync('objcopy', ['--only-keep-debug', bin.pie, join(dir, 'next', 'chain-stripped.debug')]);
  execFileSync('objcopy', ['--strip-all', `--add-gnu-debuglink=${join(dir, 'next', 'chain-stripped.debug')}`, bin.pie, bin.debugNext]);
  // stripped, debug file in .debug/ (debuglink)
  bin.debugDir = join(dir, 'dotdebug', 'chain-stripped');
  mkdirSync(join(dir, 'dotdebug', '.debug'), { recursive: true });
  execFileSync('objcopy', ['--only-keep-debug', bin.nopie, join(dir, 'dotdebug', '.debug', 'chain-stripped.debug')]);
  execFileSync('objcopy', ['--strip-all', `--add-gnu-debuglink=${join(dir, 'dotdebug', '.debug', 'chain-stripped.debug')}`, bin.nopie, bin.debugDir]);
  // stripped, the debuglinked file replaced by another one (CRC mismatch): must not be used
  bin.badCrc = join(dir, 'badcrc', 'chain-stripped');
  mkdirSync(dirname(bin.badCrc));
  const badDebug = join(dir, 'badcrc', 'chain-stripped.debug');
  execFileSync('objcopy', ['--only-keep-debug', bin.pie, badDebug]);
  execFileSync('objcopy', ['--strip-all', `--add-gnu-debuglink=${badDebug}`, bin.pie, bin.badCrc]);
  execFileSync('objcopy', ['--only-keep-debug', bin.nopie, badDebug]);
  // stripped, no debuglink: only a build-id, debug file under <debugdir>/.build-id/xx/rest.debug
  bin.buildId = join(dir, 'bid', 'chain-stripped');
  mkdirSync(dirname(bin.buildId));
  execFileSync('objcopy', ['--strip-all', bin.pie, bin.buildId]);
  const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', bin.pie], { encoding: 'utf8' }))![1];
  mkdirSync(join(dir, 'dbgroot', '.build-id', id.slice(0, 2)), { recursive: true });
  execFileSync('objcopy', ['--only-keep-debug', bin.pie, join(dir, 'dbgroot', '.build-id', id.slice(0, 2), id.slice(2) + '.debug')]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ELF reader', () => {
  it('reads the build-id note and the debuglink as binutils wrote them', () => {
    const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', bin.pie], { encoding: 'utf8' }))![1];
    const f = ElfFile.open(bin.debugNext);
    try {
      expect(f.buildId()).toBe(id);
      const link = f.debugLink()!;
      expect(link.name).toBe('chain-stripped.debug');
      // objcopy computed this CRC; ours over the same file must agree
      expect(crc32File(join(dir, 'next', 'chain-stripped.debug'))).toBe(link.crc);
      expect(f.hasSymtab()).toBe(false);
    } finally {
      f.close();
    }
  });

  it('rejects a file that is not ELF with a message naming it', () => {
    const p = join(dir, 'not-elf');
    writeFileSync(p, 'hello, world, this is not an ELF file at all, not even close to one');
    expect(() => ElfFile.open(p)).toThrow(/not-elf: not an ELF file/);
  });

  for (const kind of ['pie', 'nopie'] as const) {
    it(`names every address of the fixture's functions like nm and addr2line (${kind})`, () => {
      const path = bin[kind];
      const mod = ElfModule.load(path);
      const syms = nm(path);
      expect([...syms.keys()].sort()).toEqual([...FUNCS].sort());
      for (const [name, { addr, size }] of syms) {
        for (const k of [0n, 1n, size / 2n, size - 1n]) {
          expect(addr2lineFunc(path, addr + k)).toBe(name);
          expect(mod.lookupVaddr(addr + k)).toEqual({ name, offset: k });
        }
        // one past the end is not this function (the next one, or nothing)
        expect(mod.lookupVaddr(addr + size)?.name).not.toBe(name);
      }
    });
  }

  it('maps file offsets to virtual addresses through PT_LOAD (non-PIE loads at 0x400000)', () => {
    const mod = ElfModule.load(bin.nopie);
    const alpha = nm(bin.nopie).get('recipe_alpha')!.addr;
    expect(alpha > 0x400000n).toBe(true);
    // readelf's LOAD line holding the function gives offset and vaddr independently
    const loads = execFileSync('readelf', ['-lW', bin.nopie], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /^\s+LOAD/.test(l))
      .map((l) => l.trim().split(/\s+/))
      .map((f) => ({ off: BigInt(f[1]), vaddr: BigInt(f[2]), filesz: BigInt(f[4]) }));
    const seg = loads.find((s) => alpha >= s.vaddr && alpha < s.vaddr + s.filesz)!;
    expect(mod.vaddr(alpha - seg.vaddr + seg.off)).toBe(alpha);
  });
});

describe('debug files of stripped binaries', () => {
  it('finds the .gnu_debuglink file next to the binary (CRC checked)', () => {
    const mod = ElfModule.load(bin.debugNext);
    expect(mod.debugFile).toBe(join(dir, 'next', 'chain-stripped.debug'));
    const syms = nm(bin.pie);
    for (const [name, { addr }] of syms) expect(mod.lookupVaddr(addr + 2n)?.name).toBe(name);
  });

  it('finds the .gnu_debuglink file in the .debug directory (non-PIE)', () => {
    const mod = ElfModule.load(bin.debugDir);
    expect(mod.debugFile).toBe(join(dir, 'dotdebug', '.debug', 'chain-stripped.debug'));
    for (const [name, { addr }] of nm(bin.nopie)) expect(mod.lookupVaddr(addr + 3n)?.name).toBe(name);
  });

  it('finds the debug file under a debug directory by build-id', () => {
    const mod = ElfModule.load(bin.buildId, bin.buildId, { debugDirs: [join(dir, 'dbgroot')] });
    expect(mod.debugFile).toMatch(/\.build-id\/[0-9a-f]{2}\/[0-9a-f]+\.debug$/);
    for (const [name, { addr }] of nm(bin.pie)) expect(mod.lookupVaddr(addr)?.name).toBe(name);
    // without that directory the same file has no names
    const bare = ElfModule.load(bin.buildId, bin.buildId, { debugDirs: [join(dir, 'nowhere')] });
    expect(bare.debugFile).toBeUndefined();
    expect(bare.lookupVaddr(nm(bin.pie).get('recipe_alpha')!.addr)).toBeUndefined();
  });

  it('ignores a debuglink file whose CRC does not match', () => {
    const mod = ElfModule.load(bin.badCrc);
    expect(mod.debugFile).toBeUndefined();
    expect(mod.lookupVaddr(nm(bin.pie).get('recipe_beta')!.addr)).toBeUndefined();
  });
});

describe('/proc/PID/maps', () => {
  it('keeps paths with spaces whole and strips the (deleted) mark', () => {
    const maps = parseMaps(
      [
        '55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234                       /opt/my app/bin/tool name',
        '55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 1234                       /opt/my app/bin/tool name',
        '7f0000000000-7f0000001000 r-xp 00002000 08:01 99                         /tmp/gone lib.so (deleted)',
        '7f0000100000-7f0000101000 rwxp 00000000 00:00 0 ',
        '7ffd1a1f0000-7ffd1a1f2000 r-xp 00000000 00:00 0                          [vdso]',
      ].join('\n'),
    );
    expect(maps.map((m) => m.path)).toEqual(['/opt/my app/bin/tool name', '/opt/my app/bin/tool name', '/tmp/gone lib.so', '', '[vdso]']);
    expect(maps.map((m) => m.deleted)).toEqual([false, false, true, false, false]);
    expect(maps[1].offset).toBe(0x1000n);
    expect(maps[2].range).toBe('7f0000000000-7f0000001000');
  });
});

interface Live {
  proc: ChildProcess;
  pid: number;
  addrs: Record<string, bigint>;
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
  const addrs: Record<string, bigint> = {};
  for (const line of out.split('\n')) {
    const m = /^(\w+) 0x([0-9a-f]+)$/.exec(line);
    if (m) addrs[m[1]] = BigInt('0x' + m[2]);
  }
  return { proc, pid: proc.pid!, addrs };
}

async function stopLive(l: Live): Promise<void> {
  const done = new Promise((r) => l.proc.on('exit', r));
  l.proc.stdin!.end();
  await done;
}

describe('a live process through /proc/PID/maps', () => {
  for (const kind of ['pie', 'nopie', 'debugNext'] as const) {
    it(`names the addresses it printed (${kind})`, async () => {
      const live = await startLive(bin[kind]);
      try {
        const sym = new UserSymbolizer();
        const ips = FUNCS.map((f, i) => live.addrs[f] + BigInt(i + 1));
        const frames = sym.symbolize(live.pid, ips);
        expect(frames.map((f) => f.name)).toEqual(FUNCS);
        expect(frames.map((f) => f.offset)).toEqual([1n, 2n, 3n, 4n]);
        expect(frames.every((f) => f.module === bin[kind].split('/').pop())).toBe(true);
        // an address outside every mapping is shown, not dropped
        expect(frameLabel(sym.symbolize(live.pid, [0x10n])[0])).toBe('[unknown] (0x10)');
      } finally {
        await stopLive(live);
      }
    });
  }

  it('shows an unnamed frame of a stripped binary as [unknown] with its module and address', async () => {
    const live = await startLive(bin.badCrc);
    try {
      const [f] = new UserSymbolizer().symbolize(live.pid, [live.addrs.recipe_beta + 5n]);
      const vaddr = nm(bin.pie).get('recipe_beta')!.addr + 5n;
      expect(f.name).toBeUndefined();
      expect(frameLabel(f)).toBe(`[unknown] (chain-stripped+0x${vaddr.toString(16)})`);
      // which addr2line names from the unstripped twin: the offset is usable as is
      expect(addr2lineFunc(bin.pie, vaddr)).toBe('recipe_beta');
    } finally {
      await stopLive(live);
    }
  });

  it.runIf(isRoot)("names the vDSO's functions as nm -D names the image dumped from the process's memory", async () => {
    const live = await startLive(bin.pie);
    try {
      const m = parseMaps(readFileSync(`/proc/${live.pid}/maps`, 'utf8')).find((x) => x.path === '[vdso]')!;
      expect(m).toBeDefined();
      // the oracle: the process's own vDSO, copied out of its memory by dd, read by binutils
      const image = join(dir, 'vdso.so');
      execFileSync('dd', [`if=/proc/${live.pid}/mem`, `of=${image}`, 'bs=4096', `skip=${m.start / 4096n}`, `count=${(m.end - m.start) / 4096n}`], { stdio: 'ignore' });
      const funcs = execFileSync('nm', ['-D', '--defined-only', image], { encoding: 'utf8' })
        .split('\n')
        .map((l) => /^([0-9a-f]+) [TtWw] (__vdso_\w+)/.exec(l))
        .filter((x): x is RegExpExecArray => x !== null)
        .map((x) => ({ addr: BigInt('0x' + x[1]), name: x[2].replace(/@.*/, '') }));
      expect(funcs.map((f) => f.name)).toContain('__vdso_clock_gettime');
      const frames = new UserSymbolizer().symbolize(live.pid, funcs.map((f) => m.start + f.addr + 1n));
      expect(frames.map((f) => `${f.module} ${f.name}+${f.offset}`)).toEqual(funcs.map((f) => `[vdso] ${f.name}+1`));
    } finally {
      await stopLive(live);
    }
  });

  it('names JIT code from the perf map, read again as it grows', async () => {
    const live = await startLive(bin.pie);
    const mapFile = `/tmp/perf-${live.pid}.map`;
    try {
      const sym = new UserSymbolizer();
      const jit = live.addrs.jit;
      const [before] = sym.symbolize(live.pid, [jit + 0x10n]);
      expect(frameLabel(before)).toBe('[unknown] ([anon]+0x10)');
      writeFileSync(mapFile, `${jit.toString(16)} 40 LazyCompile:*handler /srv/app.js:10\n`);
      const sym2 = new UserSymbolizer();
      expect(sym2.symbolize(live.pid, [jit + 0x10n])[0]).toMatchObject({ name: 'LazyCompile:*handler /srv/app.js:10', offset: 0x10n, module: '[perf-map]' });
      // appended after the first read: found on the next miss
      appendFileSync(mapFile, `${(jit + 0x100n).toString(16)} 20 Builtin:ArgumentsAdaptor\n`);
      expect(sym2.symbolize(live.pid, [jit + 0x104n])[0].name).toBe('Builtin:ArgumentsAdaptor');
      // between two entries: unnamed, still shown
      expect(frameLabel(sym2.symbolize(live.pid, [jit + 0x80n])[0])).toBe('[unknown] ([anon]+0x80)');
    } finally {
      rmSync(mapFile, { force: true });
      await stopLive(live);
    }
  });

  it('re-reads the maps after exec and names the new program', async () => {
    // the same PID runs the non-PIE build after exec: cached maps of the shell must not be used
    const proc = spawn('sh', ['-c', `read x; exec "${bin.nopie}" wait`], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const sym = new UserSymbolizer();
      await new Promise((r) => setTimeout(r, 100));
      const shellFrames = sym.symbolize(proc.pid!, [0x401000n]);
      expect(shellFrames[0].module).not.toBe('chain-nopie');
      let out = '';
      const ready = new Promise<void>((resolve) =>
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) resolve();
        }),
      );
      proc.stdin!.write('go\n');
      await ready;
      const alpha = BigInt('0x' + /recipe_alpha 0x([0-9a-f]+)/.exec(out)![1]);
      expect(sym.symbolize(proc.pid!, [alpha])[0]).toMatchObject({ name: 'recipe_alpha', module: 'chain-nopie' });
    } finally {
      const done = new Promise((r) => proc.on('exit', r));
      proc.stdin!.end();
      await done;
    }
  });

  it.skipIf(!isRoot)('opens files through /proc/PID/root: a binary only its own mount namespace sees (root)', async () => {
    // like a container: the program lives on a tmpfs mounted in a private mount namespace
    const mnt = join(dir, 'private-mnt');
    mkdirSync(mnt, { recursive: true });
    const script = `mount -t tmpfs none '${mnt}' && cp '${bin.pie}' '${mnt}/inside' && exec '${mnt}/inside' wait`;
    const proc = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`unshare fixture exited early (${code})`)));
    });
    try {
      expect(existsSync(join(mnt, 'inside'))).toBe(false); // not on the host
      const alpha = BigInt('0x' + /recipe_alpha 0x([0-9a-f]+)/.exec(out)![1]);
      expect(new UserSymbolizer().symbolize(proc.pid!, [alpha + 2n])[0]).toMatchObject({ name: 'recipe_alpha', offset: 2n, module: 'inside' });
    } finally {
      const done = new Promise((r) => proc.on('exit', r));
      proc.stdin!.end();
      await done;
    }
  });

  it.skipIf(!isRoot)('names a deleted binary with spaces in its path through /proc/PID/map_files (root)', async () => {
    const spaced = join(dir, 'dir with space', 'chain copy (deleted) x');
    mkdirSync(dirname(spaced), { recursive: true });
    copyFileSync(bin.pie, spaced);
    execFileSync('chmod', ['+x', spaced]);
    const live = await startLive(spaced);
    try {
      const maps = readFileSync(`/proc/${live.pid}/maps`, 'utf8');
      expect(maps).toContain('chain copy (deleted) x');
      unlinkSync(spaced);
      expect(readFileSync(`/proc/${live.pid}/maps`, 'utf8')).toContain('chain copy (deleted) x (deleted)');
      const frames = new UserSymbolizer().symbolize(live.pid, [live.addrs.recipe_gamma + 1n, live.addrs.recipe_alpha]);
      expect(frames.map((f) => [f.name, f.module])).toEqual([
        ['recipe_gamma', 'chain copy (deleted) x'],
        ['recipe_alpha', 'chain copy (deleted) x'],
      ]);
    } finally {
      await stopLive(live);
    }
  });
});

describe('perf map files', () => {
  it('parses START SIZE name with spaces in names and skips malformed lines', () => {
    expect(parsePerfMapLines(['7f00aa000 1f0 JS:~main node:internal/main:1', 'garbage', '7f00ab000 0 empty', 'ffff 10 x'])).toEqual([
      { value: 0x7f00aa000n, size: 0x1f0n, name: 'JS:~main node:internal/main:1' },
      { value: 0xffffn, size: 0x10n, name: 'x' },
    ]);
  });

  it('a later entry at the same start replaces the older one; a line being written is not read half', () => {
    const p = join(dir, 'perf-test.map');
    writeFileSync(p, '1000 100 old_name\n20');
    const pm = new PerfMap(p);
    expect(pm.lookup(0x1010n)?.name).toBe('old_name');
    expect(pm.lookup(0x2000n)).toBeUndefined();
    appendFileSync(p, '00 10 tail_completed\n1000 100 new_name\n');
    expect(pm.lookup(0x2004n)).toEqual({ name: 'tail_completed', offset: 4n });
    expect(pm.lookup(0x1010n)?.name).toBe('new_name');
  });
});

describe('kernel symbols', () => {
  const text = [
    'ffffffff81000000 T _stext',
    'ffffffff81000100 T do_thing',
    'ffffffff81000200 t helper_thing',
    'ffffffff81000300 D some_data',
    'ffffffff81000400 T bpf_trace_run2',
    'ffffffff81000500 T __bpf_trace_sched_switch',
    'ffffffff81000600 T __schedule',
    'ffffffffc0000000 t bpf_prog_6deef7357e7b4530_handler\t[bpf]',
    'ffffffffc0100000 t ext4_thing\t[ext4]',
  ].join('\n');

  it('names addresses by binary search over text symbols', () => {
    const k = KernelSymbols.parse(text);
    expect(k.hidden).toBeUndefined();
    expect(k.lookup(0xffffffff81000105n)).toEqual({ name: 'do_thing', offset: 5n });
    expect(k.lookup(0xffffffff81000200n)).toEqual({ name: 'helper_thing', offset: 0n });
    expect(k.lookup(0xffffffffc0100010n)?.name).toBe('ext4_thing');
    expect(k.lookup(0xffffffff80000000n)).toBeUndefined();
  });

  it('says why when kallsyms shows zero addresses (not root)', () => {
    const k = KernelSymbols.parse(text.replace(/^[0-9a-f]+/gm, '0000000000000000'));
    expect(k.hidden).toMatch(/only zero addresses.*kptr_restrict/);
    expect(k.lookup(0xffffffff81000105n)).toBeUndefined();
  });

  it('drops the BPF frames at the top of a kernel stack, and only there', () => {
    const p = join(dir, 'kallsyms');
    writeFileSync(p, text + '\n');
    const s = new Symbolizer({ kallsyms: p });
    const frames = s.kernelStack([0xffffffffc0000010n, 0xffffffff81000410n, 0xffffffff81000520n, 0xffffffff81000610n, 0xffffffff81000110n, 0xffffffff81000420n]);
    expect(frames.map(frameLabel)).toEqual(['__schedule', 'do_thing', 'bpf_trace_run2']);
    expect(frameLabel(s.kernelStack([0xffffffff80000000n])[0])).toBe('[unknown] ([kernel]+0xffffffff80000000)');
    expect(bpfFramesOnTop(['bpf_prog_1_x', 'trace_call_bpf', 'perf_trace_run_bpf_submit', 'perf_trace_sched_switch', '__schedule'])).toBe(4);
  });

  it.skipIf(!isRoot)('names do_sys_openat2 from the live /proc/kallsyms (root)', () => {
    const line = readFileSync('/proc/kallsyms', 'latin1')
      .split('\n')
      .find((l) => / [tT] do_sys_openat2$/.test(l));
    expect(line).toBeDefined();
    const addr = BigInt('0x' + line!.split(' ')[0]);
    const k = KernelSymbols.load();
    expect(k.hidden).toBeUndefined();
    expect(k.lookup(addr)).toEqual({ name: 'do_sys_openat2', offset: 0n });
    expect(k.lookup(addr + 0x11n)).toEqual({ name: 'do_sys_openat2', offset: 0x11n });
  });
});

/**
 * User-space addresses → names, per process, while it lives: its /proc/PID/maps (cached per PID,
 * read again when an address falls outside every known mapping or the executable changed), the
 * mapped files opened through /proc/PID/root (so a container's files are its own), ELF symbols
 * with their debug files, MiniDebugInfo and debuginfod (DEBUGINFOD_URLS), and the perf map of JIT
 * code for anonymous executable memory. C++ names come out demangled (see Demangler). A frame
 * without a name keeps its module and offset.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Demangler } from './demangle.js';
import { type Frame } from './frame.js';
import { Debuginfod } from './debuginfo.js';
import { ElfFile, fileOffsetToVaddr, type Segment } from './elf.js';
import { ElfModule } from './module.js';
import { PerfMap } from './perfmap.js';
import { findMapping, parseMaps, type Mapping } from './procmaps.js';
import { SymbolTable } from './table.js';

export interface UserSymbolizerOptions {
  /** global debug directories (default ['/usr/lib/debug']) */
  debugDirs?: readonly string[];
  /** where perf maps are found, as the process sees it (default '/tmp') */
  perfMapDir?: string;
  /** the /proc to read (default '/proc') */
  procRoot?: string;
  /** diagnostics for -v, each said once (e.g. that C++ names cannot be demangled here) */
  log?: (message: string) => void;
  /** the C++ runtime whose __cxa_demangle names C++ symbols (default 'libstdc++.so.6') */
  cxxRuntime?: string;
  /** the environment whose DEBUGINFOD_URLS (and cache, timeout) say where debug files may be fetched (default process.env) */
  env?: NodeJS.ProcessEnv;
}

interface ProcessEntry {
  pid: number;
  maps: Mapping[];
  exeKey: string | undefined;
  root: string;
  perfMaps: PerfMap[] | undefined;
  gone: boolean;
}

export class UserSymbolizer {
  private readonly procs = new Map<number, ProcessEntry>();
  private readonly modules = new Map<string, ElfModule | Error>();
  /** the module of each mapping object (a new read of the maps makes new objects) */
  private readonly mappingModules = new WeakMap<Mapping, ElfModule | Error>();
  private readonly opts: Required<Omit<UserSymbolizerOptions, 'log' | 'cxxRuntime' | 'env'>>;
  private readonly debuginfod: Debuginfod | undefined;
  private readonly log: ((message: string) => void) | undefined;
  /** the vDSO's symbols (null: it could not be read) */
  private vdso: { loads: Segment[]; table: SymbolTable } | null | undefined;
  /** C++ names (`_Z…`) of ELF symbols and perf maps are shown demangled */
  readonly demangler: Demangler;

  constructor(opts: UserSymbolizerOptions = {}) {
    this.opts = { debugDirs: opts.debugDirs ?? ['/usr/lib/debug'], perfMapDir: opts.perfMapDir ?? '/tmp', procRoot: opts.procRoot ?? '/proc' };
    this.demangler = new Demangler({ log: opts.log, library: opts.cxxRuntime });
    this.log = opts.log;
    this.debuginfod = Debuginfod.fromEnv(opts.env ?? process.env, opts.log);
  }

  /** Name each address of one stack of process `pid` (leaf first, as captured). */
  symbolize(pid: number, ips: readonly bigint[]): Frame[] {
    const proc = this.process(pid);
    let reread = false;
    return ips.map((ip) => {
      let m = proc ? findMapping(proc.maps, ip) : undefined;
      if (!m && proc && !proc.gone && !reread) {
        // mapped after our last read (dlopen, a new JIT region): read the maps again, once a stack
        reread = true;
        this.reload(proc);
        m = findMapping(proc.maps, ip);
      }
      return this.frame(proc, ip, m);
    });
  }

  /** Forget a process (it exited or exec'd): its next stack reads /proc/PID/maps anew. */
  forget(pid: number): void {
    this.procs.delete(pid);
  }

  /** Forget every cached process that no longer exists. */
  prune(): void {
    for (const [pid, p] of this.procs) if (p.gone || !exists(`${this.opts.procRoot}/${pid}`)) this.procs.delete(pid);
  }

  /** Whether the process could be read at all (false: exited before its stacks were named). */
  known(pid: number): boolean {
    const p = this.process(pid);
    return !!p && p.maps.length > 0;
  }

  private process(pid: number): ProcessEntry | undefined {
    const proc = `${this.opts.procRoot}/${pid}`;
    const exeKey = statKey(`${proc}/exe`);
    let entry = this.procs.get(pid);
    if (entry && (entry.gone || exeKey === undefined)) {
      // exited: what was read while it lived still names its stacks
      entry.gone = true;
      return entry;
    }
    if (entry && entry.exeKey === exeKey) return entry;
    entry = { pid, maps: [], exeKey, root: `${proc}/root`, perfMaps: undefined, gone: false };
    this.reload(entry);
    if (entry.maps.length === 0 && exeKey === undefined) {
      entry.gone = true;
    }
    this.procs.set(pid, entry);
    return entry;
  }

  private reload(p: ProcessEntry): void {
    try {
      p.maps = parseMaps(readFileSync(`${this.opts.procRoot}/${p.pid}/maps`, 'utf8'));
    } catch {
      p.gone = true;
    }
  }

  private frame(proc: ProcessEntry | undefined, ip: bigint, m: Mapping | undefined): Frame {
    if (!m) {
      const jit = proc && this.perfMapLookup(proc, ip);
      if (jit) return { ip, name: this.demangler.demangle(jit.name), offset: jit.offset, module: '[perf-map]' };
      return { ip };
    }
    const anon = m.path === '' || m.path.startsWith('[anon') || m.path.startsWith('//anon');
    if (anon) {
      const jit = proc && this.perfMapLookup(proc, ip);
      if (jit) return { ip, name: this.demangler.demangle(jit.name), offset: jit.offset, module: '[perf-map]' };
      return { ip, module: '[anon]', moduleOffset: ip - m.start };
    }
    const fileOffset = ip - m.start + m.offset;
    if (m.path === '[vdso]') {
      const hit = this.vdsoLookup(ip - m.start);
      if (hit) return { ip, name: hit.name, offset: hit.offset, module: '[vdso]' };
    }
    if (m.path.startsWith('[')) return { ip, module: m.path, moduleOffset: ip - m.start };
    const module = basename(m.path);
    // once per mapping of each read of the maps: the file is stat'ed (and its symbols found) at
    // the mapping's first address, not at every frame
    let mod = this.mappingModules.get(m);
    if (!mod) {
      const host = m.deleted ? `${this.opts.procRoot}/${proc!.pid}/map_files/${m.range}` : proc!.root + m.path;
      mod = this.module(host, m.path, proc!.root);
      this.mappingModules.set(m, mod);
    }
    if (mod instanceof Error) return { ip, module, moduleOffset: fileOffset };
    const vaddr = mod.vaddr(fileOffset);
    if (vaddr === undefined) return { ip, module, moduleOffset: fileOffset };
    const hit = mod.lookupVaddr(vaddr);
    if (!hit) return { ip, module, moduleOffset: vaddr };
    return { ip, name: this.demangler.demangle(hit.name), offset: hit.offset, module };
  }

  private module(host: string, pathInRoot: string, root: string): ElfModule | Error {
    const key = statKey(host) ?? `missing:${host}`;
    let mod = this.modules.get(key);
    if (!mod) {
      try {
        mod = ElfModule.load(host, pathInRoot, { root, debugDirs: this.opts.debugDirs, debuginfod: this.debuginfod, log: this.log });
      } catch (e) {
        mod = e instanceof Error ? e : new Error(String(e));
      }
      this.modules.set(key, mod);
    }
    return mod;
  }

  /**
   * A function of the vDSO, by offset in its mapping. Every 64-bit process maps the kernel's one
   * image (an ELF file whose .dynsym names its functions), so ours is read once, from our own
   * memory, and names the frames of all of them.
   */
  private vdsoLookup(offset: bigint): { name: string; offset: bigint } | undefined {
    if (this.vdso === undefined) {
      this.vdso = null;
      try {
        const own = parseMaps(readFileSync('/proc/self/maps', 'utf8')).find((x) => x.path === '[vdso]');
        if (own) {
          const image = Buffer.alloc(Number(own.end - own.start));
          const fd = openSync('/proc/self/mem', 'r');
          try {
            readSync(fd, image, 0, image.length, Number(own.start));
          } finally {
            closeSync(fd);
          }
          const elf = ElfFile.fromBuffer(image, '[vdso]');
          // each function has two names at one address (__vdso_clock_gettime, clock_gettime): the
          // __vdso_ one, as perf names it
          const syms = elf.functionSymbols('dynsym').sort((a, b) => Number(b.name.startsWith('__vdso_')) - Number(a.name.startsWith('__vdso_')));
          this.vdso = { loads: elf.loads(), table: new SymbolTable(syms) };
        }
      } catch (e) {
        this.log?.(`the vDSO's names cannot be read: ${(e as Error).message}`);
      }
    }
    if (!this.vdso) return undefined;
    const vaddr = fileOffsetToVaddr(this.vdso.loads, offset);
    return vaddr === undefined ? undefined : this.vdso.table.lookup(vaddr);
  }

  private perfMapLookup(p: ProcessEntry, ip: bigint): { name: string; offset: bigint } | undefined {
    if (!p.perfMaps) {
      // the process writes /tmp/perf-<its own PID>.map in its own mount namespace
      const nspid = namespacePid(`${this.opts.procRoot}/${p.pid}/status`) ?? p.pid;
      const paths = [`${p.root}${this.opts.perfMapDir}/perf-${nspid}.map`];
      if (nspid !== p.pid) paths.push(`${this.opts.perfMapDir}/perf-${p.pid}.map`);
      p.perfMaps = paths.map((x) => new PerfMap(x));
    }
    for (const pm of p.perfMaps) {
      const hit = pm.lookup(ip);
      if (hit) return hit;
    }
    return undefined;
  }
}

function statKey(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  return statKey(path) !== undefined;
}

/** The innermost PID of a process (its PID inside its own PID namespace), from NSpid in status. */
function namespacePid(statusPath: string): number | undefined {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(statusPath, 'utf8'));
    if (!m) return undefined;
    const ids = m[1].trim().split(/\s+/);
    return Number(ids[ids.length - 1]);
  } catch {
    return undefined;
  }
}

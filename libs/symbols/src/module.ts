/**
 * One ELF file's symbols, ready for lookups by file offset: its function symbols (.symtab and
 * .dynsym); when it was stripped, those of its separate debug file (found through the build-id
 * note or .gnu_debuglink, as gdb and perf look), else of its MiniDebugInfo (.gnu_debugdata), else
 * of the debug file a debuginfod server has for its build-id (when DEBUGINFOD_URLS is set): what
 * is on the machine first, the network last. And its PT_LOAD segments for the offset → virtual
 * address step.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32File } from './crc32.js';
import { type Debuginfod, miniDebugInfoSymbols, sameBuildId } from './debuginfo.js';
import { ElfFile, fileOffsetToVaddr, type ElfSymbol, type Segment } from './elf.js';
import { SymbolTable, type TableEntry } from './table.js';

export interface ModuleOptions {
  /** a prefix under which the file's own paths are seen (/proc/PID/root for a process); '' for the host */
  root?: string;
  /** global debug directories, as seen under root (default ['/usr/lib/debug']) */
  debugDirs?: readonly string[];
  /** the debuginfod client (Debuginfod.fromEnv()); none: nothing fetched */
  debuginfod?: Debuginfod;
  /** -v diagnostics (a MiniDebugInfo that cannot be read) */
  log?: (message: string) => void;
}

/** Where a module's names beyond .dynsym came from. */
export type SymbolSource = 'symtab' | 'debug-file' | 'minidebuginfo' | 'debuginfod' | 'dynsym';

export class ElfModule {
  private constructor(
    readonly path: string,
    readonly loads: readonly Segment[],
    readonly table: SymbolTable,
    /** the separate debug file whose symbols were used, if any (a debuginfod one: in its cache) */
    readonly debugFile: string | undefined,
    readonly buildId: string | undefined,
    readonly source: SymbolSource,
  ) {}

  /**
   * Open `path` (a host path: for a process's file, /proc/PID/root + its path) and read its
   * symbols. `pathInRoot` is the path as the file's owner sees it, for the debug-directory lookups.
   */
  static load(path: string, pathInRoot = path, opts: ModuleOptions = {}): ElfModule {
    const elf = ElfFile.open(path);
    try {
      const loads = elf.loads();
      const buildId = elf.buildId();
      const entries: TableEntry[] = [];
      let debugFile: string | undefined;
      let source: SymbolSource = 'dynsym';
      if (elf.hasSymtab()) {
        entries.push(...elf.functionSymbols('symtab'));
        source = 'symtab';
      } else {
        debugFile = findDebugFile(elf, buildId, pathInRoot, opts);
        let mini: ElfSymbol[] | undefined;
        if (debugFile) {
          source = 'debug-file';
        } else {
          try {
            mini = miniDebugInfoSymbols(elf);
          } catch (e) {
            opts.log?.(`${pathInRoot}: its MiniDebugInfo (.gnu_debugdata) cannot be read: ${(e as Error).message}`);
          }
          if (mini) {
            entries.push(...mini);
            source = 'minidebuginfo';
          } else if (buildId && opts.debuginfod) {
            debugFile = opts.debuginfod.debugFile(buildId);
            if (debugFile) source = 'debuginfod';
          }
        }
        if (debugFile) {
          const dbg = ElfFile.open(debugFile);
          try {
            entries.push(...dbg.functionSymbols('symtab'));
          } finally {
            dbg.close();
          }
        }
      }
      entries.push(...elf.functionSymbols('dynsym'));
      return new ElfModule(path, loads, new SymbolTable(entries), debugFile, buildId, source);
    } finally {
      elf.close();
    }
  }

  /** The virtual address of a file offset (undefined outside every PT_LOAD segment). */
  vaddr(fileOffset: bigint): bigint | undefined {
    return fileOffsetToVaddr(this.loads, fileOffset);
  }

  /** The function holding a virtual address. */
  lookupVaddr(vaddr: bigint): { name: string; offset: bigint } | undefined {
    return this.table.lookup(vaddr);
  }
}

/**
 * The separate debug file of a stripped ELF file: by build-id under each debug directory
 * (.build-id/xx/rest.debug), then by .gnu_debuglink name (CRC32 checked) next to the file, in its
 * .debug/ directory, and under each debug directory followed by the file's own directory.
 * Paths are looked up under opts.root first (a container's own debug files), then on the host.
 */
export function findDebugFile(elf: ElfFile, buildId: string | undefined, pathInRoot: string, opts: ModuleOptions = {}): string | undefined {
  const root = opts.root ?? '';
  const dirs = opts.debugDirs ?? ['/usr/lib/debug'];
  const roots = root ? [root, ''] : [''];
  if (buildId && buildId.length > 2) {
    for (const r of roots) {
      for (const d of dirs) {
        const p = r + join(d, '.build-id', buildId.slice(0, 2), buildId.slice(2) + '.debug');
        if (existsSync(p) && sameBuildId(p, buildId)) return p;
      }
    }
  }
  const link = elf.debugLink();
  if (link && !link.name.includes('/')) {
    const dir = dirname(pathInRoot);
    for (const r of roots) {
      const candidates = [join(dir, link.name), join(dir, '.debug', link.name), ...dirs.map((d) => join(d, dir, link.name))];
      for (const c of candidates) {
        const p = r + c;
        if (!isFile(p) || p === elf.path) continue;
        try {
          if (crc32File(p) === link.crc) return p;
        } catch {
          /* unreadable: try the next place */
        }
      }
    }
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

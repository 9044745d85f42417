/**
 * The user-space half of the call-frame unwinder (libs/bpf-headers recipes_unwind.h): each mapped
 * file's call-frame table (libs/symbols cfiTable) loaded once into `unwind_rows`, keyed by its
 * build-id (else its device, inode, size and mtime) and shared by every process that maps it; each
 * process's executable mappings with their load bias in `unwind_procs`. Files are read through
 * /proc/PID/root, so a container's files are its own. Tables are added when a process is first
 * seen and when BPF reports an address in no known mapping (unwind_wanted: a new process, a
 * dlopen, an exec); the rows are bounded (--unwind-memory): a file that does not fit gets no
 * table and its frames take the frame-pointer step, which -v says.
 *
 * Every file with a table is also in `unwind_files` by the kernel's device and inode number: an
 * address in a mapping not loaded yet (a process seen a moment ago, a dlopen) is walked through
 * the kernel's VMA of it. With `-- COMMAND`, the command's program, its loader and its libraries
 * are loaded before it starts (loadCommand): its stacks are whole from its first sample, though
 * user space reads its maps only later, or never (a command that ends within a second). The
 * mappings found that way (`unwind_vmas`), and the maps read while processes lived, name the
 * stacks of processes that exited before they were named (mapsOf).
 *
 * A table built is kept on disk by the file's build-id (unwind-cache.ts): the next start of any
 * stack tool reads it back instead of building it again.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { commandFiles, type BpfMap } from '@bpf-recipes/core';
import { DEFAULT_UNWIND_MEMORY_MB } from './options.js';
import { ElfFile, cfiTable, fileOffsetToVaddr, parseMaps, type CfiRow, type Mapping, type Segment } from '@bpf-recipes/symbols';
import { ROW_SIZE, UnwindCache, encodeRows, unwindCacheDir } from './unwind-cache.js';

/** Layouts of recipes_unwind.h (checked against the maps' sizes when the unwinder starts). */
const MAPPING_SIZE = 40; // struct recipes_unwind_mapping
const MAX_MAPS = 256; // RECIPES_UNWIND_MAX_MAPS
const PROC_SIZE = 8 + MAX_MAPS * MAPPING_SIZE; // struct recipes_unwind_proc
const FILE_KEY_SIZE = 16; // struct recipes_unwind_file_key
const FILE_SEGS = 4; // RECIPES_UNWIND_FILE_SEGS
const MAX_FILES = 4096; // RECIPES_UNWIND_FILES (and unwind_used's slots)
const FILE_SIZE = 16 + FILE_SEGS * 24; // struct recipes_unwind_file
const VMA_KEY_SIZE = 16; // struct recipes_unwind_vma_key
const VMA_SIZE = 16 + FILE_KEY_SIZE; // struct recipes_unwind_vma
const PAGE_SHIFT = 12n; // RECIPES_UNWIND_PAGE_SHIFT
const PF_X = 1;
/** with -- COMMAND: how often the processes BPF asks about are read (UserUnwinder.watch) */
const WATCH_MS = 10;
/** the maps of exited processes kept to name their stacks (mapsOf) */
const GONE_KEPT = 1024;
/** the pc after the last frame of a stack that could not be completed (RECIPES_UNWIND_INCOMPLETE) */
export const UNWIND_INCOMPLETE_PC = 1n;
/** the frame shown for it */
export const INCOMPLETE_USER_FRAME = '[incomplete user stack]';

/** The maps of recipes_unwind.h, as a tool's skeleton names them. */
export interface UnwindMaps {
  unwind_rows: BpfMap;
  unwind_procs: BpfMap;
  unwind_stacks: BpfMap;
  unwind_wanted: BpfMap;
  unwind_stats: BpfMap;
  unwind_files: BpfMap;
  unwind_vmas: BpfMap;
  unwind_found: BpfMap;
  unwind_used: BpfMap;
}

/** The kernel's dev_t (major << 20 | minor) of a device number as stat(2) gives it. */
export function kernelDevOfStat(dev: bigint): number {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return Number(((major << 20n) | minor) & 0xffffffffn);
}

/** The kernel's dev_t of a /proc/PID/maps device ("fe:01": major and minor in hex). */
export function kernelDevOfMaps(dev: string): number {
  const [major, minor] = dev.split(':').map((x) => parseInt(x, 16));
  return (((major << 20) | minor) >>> 0);
}

/** A process's maps kept for naming its stacks: `root` + a mapping's path is the file. */
export interface KnownMaps {
  maps: Mapping[];
  root: string;
}

/** Indexes of unwind_stats (RECIPES_UNWIND_STAT_*). */
const STAT = { complete: 0, incomplete: 1, fpFrames: 2, unknown: 3, noRoom: 4 } as const;

export interface UnwindStats {
  /** stacks walked to their outermost frame */
  complete: number;
  /** stacks cut short (kept, marked [incomplete user stack]) */
  incomplete: number;
  /** frames taken by the frame-pointer step (no call-frame information: JIT code) */
  fp_frames: number;
  /** stacks of processes whose mappings were not loaded yet */
  unknown_process: number;
  /** of the incomplete: cut at a file whose table did not fit in --unwind-memory */
  no_room: number;
}

/**
 * One file's call-frame table: loaded (count rows from first), or not in the rows now (count 0:
 * it did not fit in --unwind-memory, or was evicted for a more recently used one). Its slot in
 * unwind_used tells which files the walks used since the last refresh.
 */
interface FileRec {
  /** the path as the processes see it (for -v) */
  path: string;
  /** where this process can open it (a user's /proc/PID/root/..., or the path itself) */
  opens: string[];
  slot: number;
  first: number;
  count: number;
  /** the table's rows (0: not built yet) */
  rows: number;
  /** when a walk last used it (or it was loaded) */
  lastUsed: number;
  /** the processes whose mapping tables point at it */
  users: Set<number>;
  /** its unwind_files keys (the kernel's dev:ino) */
  kernelAt: Map<string, Buffer>;
  /** its executable segments (for unwind_files) */
  loads: readonly Segment[];
}

/** A process's executable mapping as loaded: its file's record (none: anonymous, [vdso], no call-frame information). */
interface ProcMapping {
  start: bigint;
  end: bigint;
  bias: bigint;
  rec?: FileRec;
}

export interface UserUnwinderOptions {
  /** the rows all tables may take (from --unwind-memory) */
  maxRows: number;
  /** the /proc to read (default '/proc') */
  procRoot?: string;
  /** -v diagnostics */
  verbose?: (message: string) => void;
  /** --unwind-memory as given (MiB), for the notes */
  memoryMb?: number;
  /** the clock (ms) the least recently used order goes by (tests) */
  now?: () => number;
  /** where built tables are kept between runs (none: built at every start) */
  cache?: UnwindCache;
}

/** Rows that fit in `mb` MiB (--unwind-memory). */
export function unwindRows(mb: number): number {
  return Math.max(1, Math.floor((mb * 1024 * 1024) / ROW_SIZE));
}

/** Free runs of rows [start, start + len), sorted and merged; first fit. */
class RowSpace {
  private free: { start: number; len: number }[];
  constructor(readonly size: number) {
    this.free = [{ start: 0, len: size }];
  }
  take(n: number): number | undefined {
    const i = this.free.findIndex((f) => f.len >= n);
    if (i < 0) return undefined;
    const f = this.free[i];
    const at = f.start;
    if (f.len === n) this.free.splice(i, 1);
    else this.free[i] = { start: f.start + n, len: f.len - n };
    return at;
  }
  /** the free runs */
  runs(): readonly { start: number; len: number }[] {
    return this.free;
  }
  give(start: number, len: number): void {
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    this.free.splice(i, 0, { start, len });
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.len === start) {
      prev.len += len;
      this.free.splice(i, 1);
      i--;
    }
    const next = this.free[i + 1];
    if (next && this.free[i].start + this.free[i].len === next.start) {
      this.free[i].len += next.len;
      this.free.splice(i + 1, 1);
    }
  }
}

export class UserUnwinder {
  private readonly files = new Map<string, FileRec | Error>();
  private readonly byInode = new Map<string, { loads: Segment[]; rec: FileRec | Error }>();
  /** per process: the hash of the maps text last loaded */
  private readonly procs = new Map<number, string>();
  /** per process: its executable mappings as loaded into unwind_procs */
  private readonly procMaps = new Map<number, ProcMapping[]>();
  /** per process: its maps as last read, while it lives and a while after (GONE_KEPT) */
  private readonly lastMaps = new Map<number, KnownMaps>();
  /** files with tables by the kernel's `dev:ino`: the path as this process sees it */
  private readonly kernelFiles = new Map<string, string>();
  /** maps built from unwind_vmas for processes that exited unread */
  private readonly vmaMaps = new Map<number, KnownMaps>();
  /** the files by their slot in unwind_used (slot 0: none) */
  private readonly slots: (FileRec | undefined)[] = [undefined];
  private readonly space: RowSpace;
  private rowsUsed = 0;
  private evictions = 0;
  private reloads = 0;
  /** tables read from the disk cache instead of built */
  private cachedFiles = 0;
  private readonly procRoot: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly key4 = Buffer.alloc(4);
  private readonly zero4 = Buffer.alloc(4);

  constructor(private readonly maps: UnwindMaps, private readonly o: UserUnwinderOptions) {
    this.procRoot = o.procRoot ?? '/proc';
    this.now = o.now ?? Date.now;
    this.space = new RowSpace(o.maxRows);
    if (
      maps.unwind_rows.valueSize !== ROW_SIZE ||
      maps.unwind_procs.valueSize !== PROC_SIZE ||
      maps.unwind_files.keySize !== FILE_KEY_SIZE ||
      maps.unwind_files.valueSize !== FILE_SIZE ||
      maps.unwind_vmas.keySize !== VMA_KEY_SIZE ||
      maps.unwind_vmas.valueSize !== VMA_SIZE
    ) {
      throw new Error(`recipes_unwind.h and libs/stacks disagree on the layouts (rows ${maps.unwind_rows.valueSize}, procs ${maps.unwind_procs.valueSize}, files ${maps.unwind_files.valueSize}, vmas ${maps.unwind_vmas.valueSize} bytes)`);
    }
  }

  /** Rows loaded, of how many; files with tables; files whose tables are not in the rows (did not fit, evicted); evictions and loads again so far. */
  memory(): { rows: number; maxRows: number; bytes: number; files: number; left_out: number; evictions: number; reloads: number; cached: number } {
    let files = 0;
    let out = 0;
    for (const f of this.files.values()) {
      if (f instanceof Error || !f.rows) continue;
      if (f.count) files++;
      else out++;
    }
    return { rows: this.rowsUsed, maxRows: this.o.maxRows, bytes: this.rowsUsed * ROW_SIZE, files, left_out: out, evictions: this.evictions, reloads: this.reloads, cached: this.cachedFiles };
  }

  /** where built tables are kept between runs (undefined: nowhere) */
  get cacheDir(): string | undefined {
    return this.o.cache?.dir;
  }

  /** --unwind-memory (MiB), when the tool gave it */
  get memoryMb(): number | undefined {
    return this.o.memoryMb;
  }

  /** The paths of the files whose tables are in the rows now, least recently used first. */
  loadedFiles(): string[] {
    return this.recs()
      .filter((r) => r.count)
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .map((r) => r.path);
  }

  private recs(): FileRec[] {
    const out: FileRec[] = [];
    for (const f of this.files.values()) if (!(f instanceof Error)) out.push(f);
    return out;
  }

  /** Load these processes now (those the tool traces), so their first stacks are whole. */
  addAll(pids: readonly number[]): void {
    for (const pid of pids) if (pid !== process.pid) this.addProcess(pid);
  }

  /**
   * The processes BPF asked about (new to it, or an address in no known mapping: a dlopen, an
   * exec): their maps read again, and the tables of files new to it built; the files the walks
   * used noted (least recently used first out), and a table evicted that a walk came through
   * loaded again. At most `budgetMs` of work a call (a tool calls it every second); the rest
   * waits for the next call.
   */
  refresh(budgetMs = 250): void {
    const t0 = Date.now();
    this.noteUsed(budgetMs);
    this.refreshWanted(Math.max(0, budgetMs - (Date.now() - t0)));
    // processes that exited
    for (const pid of this.procs.keys()) {
      if (existsSync(`${this.procRoot}/${pid}`)) continue;
      this.procs.delete(pid);
      for (const m of this.procMaps.get(pid) ?? []) m.rec?.users.delete(pid);
      this.procMaps.delete(pid);
      this.key4.writeUInt32LE(pid);
      this.maps.unwind_procs.delete(this.key4);
      for (const [, v] of vmaKeysOf(this.maps.unwind_vmas, pid)) this.maps.unwind_vmas.delete(v);
      this.maps.unwind_found.delete(this.key4);
    }
    // the maps of exited processes: the last GONE_KEPT stay (their stacks may not be named yet)
    let gone = 0;
    for (const pid of [...this.lastMaps.keys()].reverse()) {
      if (this.procs.has(pid)) continue;
      if (++gone > GONE_KEPT) this.lastMaps.delete(pid);
    }
  }

  /**
   * The files the walks used since the last call (unwind_used, cleared): their time of use now;
   * one whose table is not in the rows (a walk was cut there) loaded again, evicting the least
   * recently used others, within `budgetMs`.
   */
  noteUsed(budgetMs = 250): void {
    const t0 = Date.now();
    const now = this.now();
    const again: FileRec[] = [];
    for (let slot = 1; slot < this.slots.length; slot++) {
      const rec = this.slots[slot];
      if (!rec) continue;
      this.key4.writeUInt32LE(slot);
      const v = this.maps.unwind_used.lookup(this.key4);
      if (!v || !v.readUInt32LE(0)) continue;
      this.maps.unwind_used.update(this.key4, this.zero4);
      rec.lastUsed = now;
      if (!rec.count && rec.rows && rec.rows <= this.o.maxRows) again.push(rec);
    }
    for (const rec of again) {
      if (Date.now() - t0 > budgetMs) break;
      this.reload(rec, new Set([rec]), 'a walk came through it');
    }
  }

  /** The processes BPF asked about: their maps read, their new files' tables built (at most `budgetMs` of work). */
  refreshWanted(budgetMs: number): void {
    const t0 = Date.now();
    const wanted = this.maps.unwind_wanted;
    for (const k of [...wanted.keys()]) {
      if (Date.now() - t0 > budgetMs) break;
      wanted.delete(k);
      const pid = k.readUInt32LE(0);
      if (pid !== process.pid) this.addProcess(pid);
    }
  }

  /**
   * Read the processes BPF asks about every `ms` as well (a traced command: a program it execs
   * gets its tables within a few ms of its first sample, not at the tool's next second); until
   * stop(), or the maps are closed.
   */
  watch(ms: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.refreshWanted(Math.max(10, ms));
      } catch {
        this.stop(); // the session closed its maps
      }
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Load the table of a file before any process maps it (`-- COMMAND`'s program and libraries):
   * a process that maps it is walked through its VMAs until its maps are read. False when it has
   * none (not ELF, no call-frame information, no room).
   */
  addFile(path: string): boolean {
    let st;
    let elf: ElfFile;
    try {
      st = statSync(path, { bigint: true });
      elf = ElfFile.open(path);
    } catch (e) {
      this.o.verbose?.(`unwind: ${path}: ${(e as Error).message}`);
      return false;
    }
    try {
      const rec = this.recOf(elf, `${st.dev}:${st.ino}:${elf.size}:${path}`, path, path, new Set());
      if (rec instanceof Error) return false;
      this.register(kernelDevOfStat(st.dev), st.ino, rec);
      return rec.count > 0;
    } finally {
      elf.close();
    }
  }

  /** The record of an opened file (its table built and loaded when it is new, or loaded again when it was evicted). */
  private recOf(elf: ElfFile, fallbackKey: string, path: string, open: string, keep: Set<FileRec>): FileRec | Error {
    const key = elf.buildId() ?? fallbackKey;
    let rec = this.files.get(key);
    if (!rec) {
      rec = this.build(elf, path, open, keep);
      this.files.set(key, rec);
      return rec;
    }
    if (rec instanceof Error) return rec;
    if (!rec.opens.includes(open)) rec.opens = [open, ...rec.opens].slice(0, 4);
    if (!rec.count && rec.rows && rec.rows <= this.o.maxRows) this.reload(rec, new Set([...keep, rec]), 'a process maps it', elf);
    return rec;
  }

  /** A file's table in unwind_files under the kernel's device and inode of it (its rows, or none now: no room). */
  private register(dev: number, ino: bigint, rec: FileRec): void {
    const at = `${dev}:${ino}`;
    if (rec.kernelAt.has(at)) return;
    if (!rec.rows) return;
    const segs = rec.loads.filter((p) => p.flags & PF_X).slice(0, FILE_SEGS);
    if (!segs.length) return;
    const key = Buffer.alloc(FILE_KEY_SIZE);
    key.writeBigUInt64LE(ino, 0);
    key.writeUInt32LE(dev, 8);
    rec.kernelAt.set(at, key);
    this.kernelFiles.set(at, rec.path);
    this.writeFile(rec, key);
  }

  private writeFile(rec: FileRec, key: Buffer): void {
    const segs = rec.loads.filter((p) => p.flags & PF_X).slice(0, FILE_SEGS);
    const value = Buffer.alloc(FILE_SIZE);
    value.writeUInt32LE(rec.first, 0);
    value.writeUInt32LE(rec.count, 4);
    value.writeUInt32LE(segs.length, 8);
    value.writeUInt32LE(rec.slot, 12);
    segs.forEach((p, i) => {
      const o = 16 + i * 24;
      value.writeBigUInt64LE(p.offset, o);
      value.writeBigUInt64LE(p.offset + p.filesz, o + 8);
      value.writeBigInt64LE(p.vaddr - p.offset, o + 16);
    });
    try {
      this.maps.unwind_files.update(key, value);
    } catch (e) {
      this.o.verbose?.(`unwind: ${rec.path} left out of the files walked through their VMAs: ${(e as Error).message}`);
    }
  }

  /**
   * The maps of a process to name its stacks by, once it cannot be read (it exited): as last read
   * here, else the mappings the walker found through the kernel's VMAs. Undefined when neither.
   */
  mapsOf(pid: number): KnownMaps | undefined {
    const read = this.lastMaps.get(pid);
    const found = this.vmaMapsOf(pid);
    if (!read?.maps.length) return found;
    // maps read once early (a command just exec'd: itself and the loader) lack what it mapped
    // afterwards (libc) when it exited before the next read: the walker's VMAs fill them in —
    // only where nothing read covers, and only for a process on our root (their paths are ours)
    if (!found || read.root !== '') return read;
    const more = found.maps.filter((m) => !read.maps.some((r) => r.start < m.end && m.start < r.end));
    if (!more.length) return read;
    return { maps: [...read.maps, ...more].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)), root: read.root };
  }

  /** The mappings the walker found through the kernel's VMAs for a process (named by the files loaded here). */
  private vmaMapsOf(pid: number): KnownMaps | undefined {
    let built = this.vmaMaps.get(pid);
    if (built) return built;
    const maps: Mapping[] = [];
    for (const [k, v] of vmaKeysOf(this.maps.unwind_vmas, pid)) {
      const val = this.maps.unwind_vmas.lookup(v);
      if (!val) continue;
      const ino = val.readBigUInt64LE(16);
      const dev = val.readUInt32LE(24);
      const path = this.kernelFiles.get(`${dev}:${ino}`);
      if (!path) continue;
      const start = k;
      const end = val.readBigUInt64LE(0);
      maps.push({
        start,
        end,
        perms: 'r-xp',
        offset: val.readBigUInt64LE(8) << PAGE_SHIFT,
        dev: `${(dev >>> 20).toString(16)}:${(dev & 0xfffff).toString(16)}`,
        inode: Number(ino),
        path,
        deleted: false,
        range: `${start.toString(16)}-${end.toString(16)}`,
      });
    }
    if (!maps.length) return undefined;
    maps.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    built = { maps, root: '' };
    this.vmaMaps.set(pid, built);
    if (this.vmaMaps.size > GONE_KEPT) this.vmaMaps.delete(this.vmaMaps.keys().next().value!);
    return built;
  }

  /** Load (or reload, when its mappings changed) one process's mapping table; false when it cannot be read. */
  addProcess(pid: number): boolean {
    // its root before its maps: a process that exits between the two has maps but no root to read
    // its files through (names would be looked for under a /proc/PID/root that is gone)
    const rootDir = `${this.procRoot}/${pid}/root`;
    let sameRoot: boolean;
    try {
      sameRoot = sameFile(rootDir, '/', true);
    } catch {
      return false;
    }
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/maps`, 'utf8');
    } catch {
      return false;
    }
    // no maps: exiting (its memory gone), or a kernel thread
    if (!text) return false;
    const hash = createHash('sha1').update(text).digest('hex');
    if (this.procs.get(pid) === hash) return true;
    // kept to name its stacks after it exits: its files by their paths here when it shares our root
    this.lastMaps.delete(pid);
    this.lastMaps.set(pid, { maps: parseMaps(text), root: sameRoot ? '' : rootDir });
    // every executable mapping: a file's with its table; anonymous ones (JIT code), [vdso] without
    // (their frames take the frame-pointer step), so that BPF tells an address in none of them
    // (mapped since: it asks again) from one it has rules for
    const exec = parseMaps(text).filter((m) => m.perms[2] === 'x').slice(0, MAX_MAPS);
    // the files it maps that have records already stay while its new ones are loaded
    const keep = new Set<FileRec>();
    for (const m of exec) {
      const known = this.byInode.get(`${m.dev}:${m.inode}:${m.path}`)?.rec;
      if (known && !(known instanceof Error)) keep.add(known);
    }
    const entries: ProcMapping[] = exec.map((m) => {
      const e = m.path.startsWith('/') ? this.mappingEntry(pid, m, keep) : undefined;
      if (e?.rec) keep.add(e.rec);
      return { start: m.start, end: m.end, bias: e?.bias ?? 0n, ...(e?.rec ? { rec: e.rec } : {}) };
    });
    for (const m of this.procMaps.get(pid) ?? []) m.rec?.users.delete(pid);
    for (const m of entries) m.rec?.users.add(pid);
    this.procMaps.set(pid, entries);
    if (!this.writeProc(pid)) return false;
    this.procs.set(pid, hash);
    return true;
  }

  /** A process's unwind_procs entry from its mappings and their files' records as they are now. */
  private writeProc(pid: number): boolean {
    const entries = this.procMaps.get(pid) ?? [];
    const value = Buffer.alloc(PROC_SIZE);
    entries.forEach((m, n) => {
      const at = 8 + n * MAPPING_SIZE;
      value.writeBigUInt64LE(m.start, at);
      value.writeBigUInt64LE(m.end, at + 8);
      value.writeBigUInt64LE(BigInt.asUintN(64, m.bias), at + 16);
      value.writeUInt32LE(m.rec?.first ?? 0, at + 24);
      value.writeUInt32LE(m.rec?.count ?? 0, at + 28);
      value.writeUInt32LE(m.rec?.rows ? m.rec.slot : 0, at + 32);
    });
    value.writeUInt32LE(entries.length, 0);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    try {
      this.maps.unwind_procs.update(key, value);
      return true;
    } catch (e) {
      this.o.verbose?.(`unwind: process ${pid} left out: ${(e as Error).message}`);
      return false;
    }
  }

  private mappingEntry(pid: number, m: Mapping, keep: Set<FileRec>): { bias: bigint; rec?: FileRec } | undefined {
    // a file seen before (by device, inode and path): no need to open it again when only the maps
    // around it changed (JIT code, a dlopen)
    const known = this.byInode.get(`${m.dev}:${m.inode}:${m.path}`);
    const host = m.deleted ? `${this.procRoot}/${pid}/map_files/${m.range}` : `${this.procRoot}/${pid}/root${m.path}`;
    if (known) {
      const vaddr = fileOffsetToVaddr(known.loads, m.offset);
      if (vaddr === undefined) return undefined;
      const rec = known.rec;
      if (rec instanceof Error) return { bias: m.start - vaddr };
      if (!rec.opens.includes(host)) rec.opens = [host, ...rec.opens].slice(0, 4);
      if (!rec.count && rec.rows && rec.rows <= this.o.maxRows) this.reload(rec, new Set([...keep, rec]), 'a process maps it');
      return { bias: m.start - vaddr, rec };
    }
    let elf: ElfFile;
    try {
      elf = ElfFile.open(host);
    } catch {
      return undefined;
    }
    try {
      const vaddr = fileOffsetToVaddr(elf.loads(), m.offset);
      if (vaddr === undefined) return undefined;
      const rec = this.recOf(elf, `${m.dev}:${m.inode}:${elf.size}:${m.path}`, m.path, host, keep);
      if (m.inode !== 0 && !m.deleted) this.byInode.set(`${m.dev}:${m.inode}:${m.path}`, { loads: elf.loads(), rec });
      if (rec instanceof Error) return { bias: m.start - vaddr };
      if (m.inode !== 0) this.register(kernelDevOfMaps(m.dev), BigInt(m.inode), rec);
      return { bias: m.start - vaddr, rec };
    } finally {
      elf.close();
    }
  }

  /** A new file's record: its table built and loaded when there is room (evicting others); an Error when it has none to walk by. */
  private build(elf: ElfFile, path: string, open: string, keep: Set<FileRec>): FileRec | Error {
    const rows = this.rowsOf(elf, path);
    if (rows instanceof Error) return rows;
    const rec: FileRec = { path, opens: [open], slot: 0, first: 0, count: 0, rows: rows.length / ROW_SIZE, lastUsed: this.now(), users: new Set(), kernelAt: new Map(), loads: elf.loads() };
    if (!rows.length) return rec;
    if (this.slots.length < MAX_FILES) {
      rec.slot = this.slots.length;
      this.slots.push(rec);
    }
    this.place(rec, rows, new Set([...keep, rec]));
    return rec;
  }

  /** A file's table in unwind_rows' layout (ROW_SIZE bytes a row): from the cache, else built (and then cached). */
  private rowsOf(elf: ElfFile, path: string): Buffer | Error {
    const cache = this.o.cache;
    const buildId = cache ? elf.buildId() : undefined;
    const id = buildId
      ? { buildId, arch: 'x86_64', ehFrame: elf.section('.eh_frame')?.size ?? 0n, debugFrame: elf.section('.debug_frame')?.size ?? 0n, rowSize: ROW_SIZE }
      : undefined;
    const cached = id && cache!.get(id);
    if (cached) {
      this.cachedFiles++;
      return cached;
    }
    let rows: CfiRow[];
    try {
      rows = cfiTable(elf);
    } catch (e) {
      this.o.verbose?.(`unwind: ${path}: its call-frame information cannot be read (${(e as Error).message}): its frames take the frame-pointer step`);
      return e as Error;
    }
    if (rows.length && rows[rows.length - 1].pc > 0xffffffff) {
      this.o.verbose?.(`unwind: ${path}: code above 4 GiB: its frames take the frame-pointer step`);
      return new Error('code above 4 GiB');
    }
    const values = encodeRows(rows);
    if (id) cache!.put(id, values);
    return values;
  }

  /**
   * Rows for `rec`'s table: free ones, else those of the least recently used files evicted (files
   * no live process maps first; never those in `keep`, the ones the process being loaded needs);
   * its table written there. False when it does not fit even so: its frames then cut the walk.
   */
  private place(rec: FileRec, values: Buffer, keep: Set<FileRec>): boolean {
    const n = values.length / ROW_SIZE;
    let first = this.space.take(n);
    if (first === undefined && n <= this.o.maxRows) {
      const window = this.victims(n, keep);
      for (const v of window?.recs ?? []) this.evict(v, rec, window!.live.get(v) === 1);
      if (window) first = this.space.take(n);
    }
    if (first === undefined) {
      const why = n > this.o.maxRows ? 'is larger than' : `does not fit beside the ${mib(this.rowsUsed * ROW_SIZE)} MiB of the files in use in`;
      this.o.verbose?.(
        `unwind: ${rec.path}: its table (${n} rows, ${mib(n * ROW_SIZE)} MiB) ${why} --unwind-memory (${mib(this.o.maxRows * ROW_SIZE)} MiB): stacks through it are cut there and counted; a larger --unwind-memory keeps them whole`,
      );
      return false;
    }
    const keys = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) keys.writeUInt32LE(first + i, i * 4);
    this.maps.unwind_rows.updateBatch(keys, values, n);
    rec.first = first;
    rec.count = n;
    this.rowsUsed += n;
    this.o.verbose?.(`unwind: ${rec.path}: ${n} rows`);
    this.publish(rec);
    return true;
  }

  /**
   * The tables to evict for `n` contiguous rows: of the runs of neighbouring tables and free rows
   * long enough (none in `keep`), the one whose most recently used table is the least recently
   * used (tables of files no live process maps count as older than any other). Undefined when
   * every such run holds a table in `keep`.
   */
  private victims(n: number, keep: Set<FileRec>): { recs: FileRec[]; live: Map<FileRec, number> } | undefined {
    const live = new Map<FileRec, number>();
    const runs: { start: number; len: number; rec?: FileRec }[] = this.space.runs().map((f) => ({ ...f }));
    for (const r of this.recs()) {
      if (!r.count) continue;
      live.set(r, [...r.users].some((pid) => existsSync(`${this.procRoot}/${pid}`)) ? 1 : 0);
      runs.push({ start: r.first, len: r.count, rec: r });
    }
    runs.sort((a, b) => a.start - b.start);
    // a table's age: live ones after all others, then by last use
    const age = (r: FileRec) => live.get(r)! * 1e15 + r.lastUsed;
    // (ties: the run that evicts fewer rows)
    let best: { cost: number; rows: number; from: number; to: number } | undefined;
    for (let i = 0; i < runs.length; i++) {
      let len = 0;
      let rows = 0;
      let cost = -Infinity;
      for (let j = i; j < runs.length; j++) {
        const r = runs[j].rec;
        if (r && keep.has(r)) break;
        if (r) {
          cost = Math.max(cost, age(r));
          rows += r.count;
        }
        len += runs[j].len;
        if (len >= n) {
          if (!best || cost < best.cost || (cost === best.cost && rows < best.rows)) best = { cost, rows, from: i, to: j };
          break;
        }
      }
    }
    if (!best) return undefined;
    const recs = runs.slice(best.from, best.to + 1).flatMap((r) => (r.rec ? [r.rec] : []));
    recs.sort((a, b) => age(a) - age(b));
    return { recs, live };
  }

  /** A file's rows given back: its processes' and unwind_files' entries say so first (walks cut there from now on). */
  private evict(v: FileRec, for_: FileRec, mapped: boolean): void {
    const { first, count } = v;
    v.first = 0;
    v.count = 0;
    this.publish(v);
    // the mappings found through the kernel's VMAs copy a file's rows: dropped (found again)
    for (const k of [...this.maps.unwind_found.keys()]) this.maps.unwind_found.delete(k);
    this.space.give(first, count);
    this.rowsUsed -= count;
    this.evictions++;
    this.o.verbose?.(`unwind: ${v.path}: its table (${count} rows) evicted for ${for_.path}'s (least recently used${mapped ? '' : ', mapped by no live process'}: last walked ${((this.now() - v.lastUsed) / 1000).toFixed(1)} s ago)`);
  }

  /** A file's rows and slot as they are now, in unwind_files and every process that maps it. */
  private publish(rec: FileRec): void {
    for (const key of rec.kernelAt.values()) this.writeFile(rec, key);
    for (const pid of rec.users) this.writeProc(pid);
  }

  /** An evicted table loaded again (its file read again), evicting less recently used ones. */
  private reload(rec: FileRec, keep: Set<FileRec>, why: string, opened?: ElfFile): void {
    let elf = opened;
    for (const p of opened ? [] : rec.opens) {
      try {
        elf = ElfFile.open(p);
        break;
      } catch {
        // that process is gone: the next
      }
    }
    if (!elf) return;
    try {
      const rows = this.rowsOf(elf, rec.path);
      if (rows instanceof Error || rows.length / ROW_SIZE !== rec.rows) return;
      if (this.place(rec, rows, keep)) {
        this.reloads++;
        rec.lastUsed = this.now();
        this.o.verbose?.(`unwind: ${rec.path}: loaded again (${why})`);
      }
    } finally {
      if (!opened) elf.close();
    }
  }

  /** The walker's counts since the start. */
  stats(): UnwindStats {
    const sum = (i: number) => {
      this.key4.writeUInt32LE(i);
      return this.maps.unwind_stats.sumU64(this.key4);
    };
    return { complete: sum(STAT.complete), incomplete: sum(STAT.incomplete), fp_frames: sum(STAT.fpFrames), unknown_process: sum(STAT.unknown), no_room: sum(STAT.noRoom) };
  }
}

/** unwind_vmas's entries of process `pid`: each VMA's start and its key. */
function* vmaKeysOf(map: BpfMap, pid: number): Generator<[bigint, Buffer]> {
  for (const k of [...map.keys()]) if (k.readUInt32LE(0) === pid) yield [k.readBigUInt64LE(8), k];
}

/** Whether two paths are one file; false when either cannot be read, unless `rethrow` (then the error). */
function sameFile(a: string, b: string, rethrow = false): boolean {
  try {
    const x = statSync(a, { bigint: true });
    const y = statSync(b, { bigint: true });
    return x.dev === y.dev && x.ino === y.ino;
  } catch (e) {
    if (rethrow) throw e;
    return false;
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** The -v line about the tables' memory and the walker's counts. */
export function unwindSummary(u: UserUnwinder): string {
  const m = u.memory();
  const s = u.stats();
  const out = m.left_out ? `, ${m.left_out} files' tables not loaded (no room)` : '';
  const cache = u.cacheDir === undefined ? 'no table cache (BPF_RECIPES_UNWIND_CACHE=off)' : `${m.cached} tables read from the cache in ${u.cacheDir}`;
  return (
    `unwind: ${m.files} files, ${m.rows} of ${m.maxRows} rows (${mib(m.bytes)} of ${mib(m.maxRows * ROW_SIZE)} MiB: --unwind-memory)${out}, ${m.evictions} evicted, ${m.reloads} loaded again; ` +
    `${s.complete} stacks complete, ${s.incomplete} incomplete (${s.no_room} for want of room), ${s.fp_frames} frame-pointer steps, ${s.unknown_process} stacks of processes not yet loaded; ${cache}`
  );
}

/** The stderr lines when stacks were cut short, or walked by frame pointers before their process was loaded (none when neither). */
export function incompleteNotes(tool: string, s: UnwindStats, memoryMb?: number): string[] {
  const out: string[] = [];
  if (s.incomplete) {
    out.push(
      `${tool}: ${s.incomplete} of ${s.incomplete + s.complete} user stacks could not be walked to their first frame (an address in code mapped since the tool last read the process's maps, a frame without usable call-frame information, unreadable stack memory, or deeper than 127 frames); kept with the frames found, ending in ${INCOMPLETE_USER_FRAME}`,
    );
  }
  if (s.no_room) {
    const size = memoryMb === undefined ? '' : ` (${Number.isInteger(memoryMb) ? `${memoryMb}M` : `${Math.round(memoryMb * 1024)}K`})`;
    out.push(`${tool}: ${s.no_room} of those user stacks were cut at a file whose call-frame table did not fit in --unwind-memory${size}: give a larger --unwind-memory (-v says which files)`);
  }
  if (s.unknown_process) {
    out.push(`${tool}: ${s.unknown_process} user stacks had frames walked by frame pointers: their process was not loaded yet (its maps are read within a second of its first stack, within ms under -- COMMAND; -p and -- COMMAND load its files before tracing starts)`);
  }
  return out;
}

/** What a stack tool decides about its user stacks' walk. */
export interface UnwindChoice {
  /** walk by call-frame information (user stacks asked for, no --frame-pointers) */
  unwind: boolean;
  /** entries of the tool's stack map (--stack-storage-size) */
  storage: number;
  /** --unwind-memory */
  memoryMb: number;
}

/**
 * Before load: the unwinder's maps sized for the choice (the tables' rows, the stack ids as many
 * as the tool's stack map), or to one entry each when user stacks are walked by frame pointers.
 */
export function sizeUnwindMaps(obj: { setMaxEntries(map: BpfMap, n: number): void }, maps: UnwindMaps, c: UnwindChoice): void {
  obj.setMaxEntries(maps.unwind_rows, c.unwind ? unwindRows(c.memoryMb) : 1);
  obj.setMaxEntries(maps.unwind_stacks, c.unwind ? c.storage : 1);
  if (!c.unwind) for (const m of [maps.unwind_procs, maps.unwind_files, maps.unwind_vmas, maps.unwind_found]) obj.setMaxEntries(m, 1);
}

/**
 * After load, before attach: the unwinder, with the processes of -p loaded so their first stacks
 * are whole (any other process is loaded when BPF first asks for it: refresh()), and with
 * `-- COMMAND` (its argv) the files the command will map (its program, loader and libraries);
 * undefined when user stacks are walked by frame pointers.
 */
export function startUnwinder(maps: UnwindMaps, c: UnwindChoice, pids: readonly number[] | undefined, verbose?: (message: string) => void, command?: readonly string[]): UserUnwinder | undefined {
  if (!c.unwind) return undefined;
  const dir = unwindCacheDir();
  const cache = dir === undefined ? undefined : new UnwindCache(dir, verbose ? { verbose } : {});
  const u = new UserUnwinder(maps, { maxRows: unwindRows(c.memoryMb), memoryMb: c.memoryMb, ...(verbose ? { verbose } : {}), ...(cache ? { cache } : {}) });
  const t0 = Date.now();
  if (pids?.length) u.addAll(pids);
  if (command?.length) {
    loadCommand(u, command[0], verbose);
    // what the command execs (sh -c 'gzip ...'): its program's tables within ms of its first sample
    u.watch(WATCH_MS);
  }
  if (pids?.length || command?.length) verbose?.(`${unwindSummary(u)} (loaded in ${Date.now() - t0} ms)`);
  return u;
}

/** The tables of the files `command` will map (its program, or its script's interpreter; its loader and libraries), before it starts. */
export function loadCommand(u: UserUnwinder, command: string, verbose?: (message: string) => void): string[] {
  const files = commandFiles(command);
  if (!files) {
    verbose?.(`unwind: ${command}: its files could not be found: its stacks are walked once its maps are read`);
    return [];
  }
  const paths = [files.program, ...files.libraries.map((l) => l.path)];
  return paths.filter((p) => u.addFile(p));
}

/** The walk a tool's options ask for: call-frame information unless --frame-pointers (or no user stacks). */
export function unwindChoice(c: { user: boolean; storage: number; framePointers?: boolean; unwindMemoryMb?: number }): UnwindChoice {
  // x86_64's register rules only, so far: elsewhere (arm64) the kernel's frame-pointer walk
  return { unwind: c.user && !c.framePointers && process.arch === 'x64', storage: c.storage, memoryMb: c.unwindMemoryMb ?? DEFAULT_UNWIND_MEMORY_MB };
}

/** At the end: the incomplete stacks said on stderr (like missed stacks), the tables' use under -v. */
export function finishUnwind(u: UserUnwinder | undefined, tool: string, note: (m: string) => void, verbose: (m: string) => void): void {
  if (!u) return;
  u.stop();
  for (const line of incompleteNotes(tool, u.stats(), u.memoryMb)) note(line);
  verbose(unwindSummary(u));
}

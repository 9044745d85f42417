/**
 * The user-space half of the call-frame unwinder (libs/bpf-headers recipes_unwind.h): each mapped
 * file's call-frame table (libs/symbols cfiTable) loaded once into `unwind_rows`, keyed by its
 * build-id (else its device, inode, size and mtime) and shared by every process that maps it; each
 * process's executable mappings with their load bias in `unwind_procs`. Files are read through
 * /proc/PID/root, so a container's files are its own. Tables are added when a process is first
 * seen and when BPF reports an address in no known mapping (unwind_wanted: a new process, a
 * dlopen, an exec); the rows are bounded (--unwind-memory): a file that does not fit gets no
 * table and its frames take the frame-pointer step, which -v says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { type BpfMap } from '@bpf-recipes/core';
import { DEFAULT_UNWIND_MEMORY_MB } from './options.js';
import { ElfFile, cfiTable, fileOffsetToVaddr, parseMaps, type CfiRow, type Mapping, type Segment } from '@bpf-recipes/symbols';

/** Layouts of recipes_unwind.h (checked against the maps' sizes when the unwinder starts). */
const ROW_SIZE = 12; // struct recipes_unwind_row
const MAPPING_SIZE = 32; // struct recipes_unwind_mapping
const MAX_MAPS = 256; // RECIPES_UNWIND_MAX_MAPS
const PROC_SIZE = 8 + MAX_MAPS * MAPPING_SIZE; // struct recipes_unwind_proc
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
}

/** Indexes of unwind_stats (RECIPES_UNWIND_STAT_*). */
const STAT = { complete: 0, incomplete: 1, fpFrames: 2, unknown: 3 } as const;

export interface UnwindStats {
  /** stacks walked to their outermost frame */
  complete: number;
  /** stacks cut short (kept, marked [incomplete user stack]) */
  incomplete: number;
  /** frames taken by the frame-pointer step (no call-frame information: JIT code) */
  fp_frames: number;
  /** stacks of processes whose mappings were not loaded yet */
  unknown_process: number;
}

interface FileTable {
  first: number;
  count: number;
}

export interface UserUnwinderOptions {
  /** the rows all tables may take (from --unwind-memory) */
  maxRows: number;
  /** the /proc to read (default '/proc') */
  procRoot?: string;
  /** -v diagnostics */
  verbose?: (message: string) => void;
}

/** Rows that fit in `mb` MiB. */
export function unwindRows(mb: number): number {
  return Math.max(1, Math.floor((mb * 1024 * 1024) / ROW_SIZE));
}

export class UserUnwinder {
  private readonly files = new Map<string, FileTable | Error>();
  private readonly byInode = new Map<string, { loads: Segment[]; table: FileTable | Error }>();
  /** per process: the hash of the maps text last loaded */
  private readonly procs = new Map<number, string>();
  private nextRow = 0;
  private readonly procRoot: string;
  private fullSaid = false;
  private readonly key4 = Buffer.alloc(4);

  constructor(private readonly maps: UnwindMaps, private readonly o: UserUnwinderOptions) {
    this.procRoot = o.procRoot ?? '/proc';
    if (maps.unwind_rows.valueSize !== ROW_SIZE || maps.unwind_procs.valueSize !== PROC_SIZE) {
      throw new Error(`recipes_unwind.h and libs/stacks disagree on the layouts (rows ${maps.unwind_rows.valueSize}, procs ${maps.unwind_procs.valueSize} bytes)`);
    }
  }

  /** Rows loaded, of how many; files with tables. */
  memory(): { rows: number; maxRows: number; bytes: number; files: number } {
    let files = 0;
    for (const f of this.files.values()) if (!(f instanceof Error) && f.count) files++;
    return { rows: this.nextRow, maxRows: this.o.maxRows, bytes: this.nextRow * ROW_SIZE, files };
  }

  /** Load these processes now (those the tool traces), so their first stacks are whole. */
  addAll(pids: readonly number[]): void {
    for (const pid of pids) if (pid !== process.pid) this.addProcess(pid);
  }

  /**
   * The processes BPF asked about (new to it, or an address in no known mapping: a dlopen, an
   * exec): their maps read again, and the tables of files new to it built. At most `budgetMs` of
   * work a call (a tool calls it every second); the rest waits for the next call.
   */
  refresh(budgetMs = 250): void {
    const t0 = Date.now();
    const wanted = this.maps.unwind_wanted;
    for (const k of [...wanted.keys()]) {
      if (Date.now() - t0 > budgetMs) break;
      wanted.delete(k);
      const pid = k.readUInt32LE(0);
      if (pid !== process.pid) this.addProcess(pid);
    }
    // processes that exited
    for (const pid of this.procs.keys()) {
      if (existsSync(`${this.procRoot}/${pid}`)) continue;
      this.procs.delete(pid);
      this.key4.writeUInt32LE(pid);
      this.maps.unwind_procs.delete(this.key4);
    }
  }

  /** Load (or reload, when its mappings changed) one process's mapping table; false when it cannot be read. */
  addProcess(pid: number): boolean {
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/maps`, 'utf8');
    } catch {
      return false;
    }
    const hash = createHash('sha1').update(text).digest('hex');
    if (this.procs.get(pid) === hash) return true;
    // every executable mapping: a file's with its table; anonymous ones (JIT code), [vdso] without
    // (their frames take the frame-pointer step), so that BPF tells an address in none of them
    // (mapped since: it asks again) from one it has rules for
    const exec = parseMaps(text).filter((m) => m.perms[2] === 'x');
    const value = Buffer.alloc(PROC_SIZE);
    let n = 0;
    for (const m of exec) {
      if (n >= MAX_MAPS) break;
      const e = m.path.startsWith('/') ? this.mappingEntry(pid, m) : undefined;
      const none = { bias: 0n, table: { first: 0, count: 0 } };
      const at = 8 + n * MAPPING_SIZE;
      value.writeBigUInt64LE(m.start, at);
      value.writeBigUInt64LE(m.end, at + 8);
      const { bias, table } = e ?? none;
      value.writeBigUInt64LE(BigInt.asUintN(64, bias), at + 16);
      value.writeUInt32LE(table.first, at + 24);
      value.writeUInt32LE(table.count, at + 28);
      n++;
    }
    value.writeUInt32LE(n, 0);
    this.key4.writeUInt32LE(pid);
    try {
      this.maps.unwind_procs.update(this.key4, value);
    } catch (e) {
      this.o.verbose?.(`unwind: process ${pid} left out: ${(e as Error).message}`);
      return false;
    }
    this.procs.set(pid, hash);
    return true;
  }

  private mappingEntry(pid: number, m: Mapping): { bias: bigint; table: FileTable } | undefined {
    // a file seen before (by device, inode and path): no need to open it again when only the maps
    // around it changed (JIT code, a dlopen)
    const known = this.byInode.get(`${m.dev}:${m.inode}:${m.path}`);
    if (known) {
      const vaddr = fileOffsetToVaddr(known.loads, m.offset);
      if (vaddr === undefined) return undefined;
      return { bias: m.start - vaddr, table: known.table instanceof Error ? { first: 0, count: 0 } : known.table };
    }
    const host = m.deleted ? `${this.procRoot}/${pid}/map_files/${m.range}` : `${this.procRoot}/${pid}/root${m.path}`;
    let elf: ElfFile;
    try {
      elf = ElfFile.open(host);
    } catch {
      return undefined;
    }
    try {
      const vaddr = fileOffsetToVaddr(elf.loads(), m.offset);
      if (vaddr === undefined) return undefined;
      const key = elf.buildId() ?? `${m.dev}:${m.inode}:${elf.size}:${m.path}`;
      let t = this.files.get(key);
      if (!t) {
        t = this.load(elf, m.path);
        this.files.set(key, t);
      }
      if (m.inode !== 0 && !m.deleted) this.byInode.set(`${m.dev}:${m.inode}:${m.path}`, { loads: elf.loads(), table: t });
      if (t instanceof Error) return { bias: m.start - vaddr, table: { first: 0, count: 0 } };
      return { bias: m.start - vaddr, table: t };
    } finally {
      elf.close();
    }
  }

  private load(elf: ElfFile, path: string): FileTable | Error {
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
    if (this.nextRow + rows.length > this.o.maxRows) {
      if (!this.fullSaid) {
        this.fullSaid = true;
        this.o.verbose?.(`unwind: tables full (${this.nextRow} rows, ${mib(this.nextRow * ROW_SIZE)} MiB): ${path} and later files take the frame-pointer step; a larger --unwind-memory helps`);
      }
      return new Error('tables full');
    }
    const first = this.nextRow;
    const keys = Buffer.alloc(rows.length * 4);
    const values = Buffer.alloc(rows.length * ROW_SIZE);
    rows.forEach((r, i) => {
      keys.writeUInt32LE(first + i, i * 4);
      const at = i * ROW_SIZE;
      values.writeUInt32LE(r.pc, at);
      values.writeInt32LE(r.cfaOffset, at + 4);
      values.writeUInt8(r.cfa, at + 8);
      values.writeUInt8(r.fp, at + 9);
      values.writeInt16LE(Math.max(-32768, Math.min(32767, r.fpOffset)), at + 10);
    });
    this.maps.unwind_rows.updateBatch(keys, values, rows.length);
    this.nextRow += rows.length;
    this.o.verbose?.(`unwind: ${path}: ${rows.length} rows`);
    return { first, count: rows.length };
  }

  /** The walker's counts since the start. */
  stats(): UnwindStats {
    const sum = (i: number) => {
      this.key4.writeUInt32LE(i);
      return this.maps.unwind_stats.sumU64(this.key4);
    };
    return { complete: sum(STAT.complete), incomplete: sum(STAT.incomplete), fp_frames: sum(STAT.fpFrames), unknown_process: sum(STAT.unknown) };
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** The -v line about the tables' memory and the walker's counts. */
export function unwindSummary(u: UserUnwinder): string {
  const m = u.memory();
  const s = u.stats();
  return `unwind: ${m.files} files, ${m.rows} of ${m.maxRows} rows (${mib(m.bytes)} of ${mib(m.maxRows * ROW_SIZE)} MiB); ${s.complete} stacks complete, ${s.incomplete} incomplete, ${s.fp_frames} frame-pointer steps, ${s.unknown_process} stacks of processes not yet loaded`;
}

/** The stderr lines when stacks were cut short, or walked by frame pointers before their process was loaded (none when neither). */
export function incompleteNotes(tool: string, s: UnwindStats): string[] {
  const out: string[] = [];
  if (s.incomplete) {
    out.push(
      `${tool}: ${s.incomplete} of ${s.incomplete + s.complete} user stacks could not be walked to their first frame (an address in code mapped since the tool last read the process's maps, a frame without usable call-frame information, unreadable stack memory, or deeper than 127 frames); kept with the frames found, ending in ${INCOMPLETE_USER_FRAME}`,
    );
  }
  if (s.unknown_process) {
    out.push(`${tool}: ${s.unknown_process} user stacks were walked by frame pointers: their process was not loaded yet (its tables are built within a second of its first stack; -p loads them before tracing starts)`);
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
  if (!c.unwind) obj.setMaxEntries(maps.unwind_procs, 1);
}

/**
 * After load, before attach: the unwinder, with the processes of -p loaded so their first stacks
 * are whole (any other process is loaded when BPF first asks for it: refresh()); undefined when
 * user stacks are walked by frame pointers.
 */
export function startUnwinder(maps: UnwindMaps, c: UnwindChoice, pids: readonly number[] | undefined, verbose?: (message: string) => void): UserUnwinder | undefined {
  if (!c.unwind) return undefined;
  const u = new UserUnwinder(maps, { maxRows: unwindRows(c.memoryMb), ...(verbose ? { verbose } : {}) });
  const t0 = Date.now();
  if (pids?.length) {
    u.addAll(pids);
    verbose?.(`${unwindSummary(u)} (loaded in ${Date.now() - t0} ms)`);
  }
  return u;
}

/** The walk a tool's options ask for: call-frame information unless --frame-pointers (or no user stacks). */
export function unwindChoice(c: { user: boolean; storage: number; framePointers?: boolean; unwindMemoryMb?: number }): UnwindChoice {
  // x86_64's register rules only, so far: elsewhere (arm64) the kernel's frame-pointer walk
  return { unwind: c.user && !c.framePointers && process.arch === 'x64', storage: c.storage, memoryMb: c.unwindMemoryMb ?? DEFAULT_UNWIND_MEMORY_MB };
}

/** At the end: the incomplete stacks said on stderr (like missed stacks), the tables' use under -v. */
export function finishUnwind(u: UserUnwinder | undefined, tool: string, note: (m: string) => void, verbose: (m: string) => void): void {
  if (!u) return;
  for (const line of incompleteNotes(tool, u.stats())) note(line);
  verbose(unwindSummary(u));
}

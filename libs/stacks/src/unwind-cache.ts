/**
 * The call-frame tables built by UserUnwinder, kept on disk between runs: a file's table is built
 * from its .eh_frame/.debug_frame once (libc: ~0.1 s, node: ~0.8 s on the reference machine, many
 * times that in an emulated VM) and every later start of any stack tool reads it back instead.
 *
 * One file per table, named by the ELF file's build-id and a tag of what else decides the rows (the
 * table format and rule interpreter's version, the row layout, the architecture, the sizes of
 * .eh_frame and .debug_frame: a stripped copy shares its build-id with the unstripped file but not
 * its .debug_frame); the rows in recipes_unwind.h's layout, as they go into unwind_rows, after a
 * header with their count and a SHA-1 of them. Files without a build-id are not cached. Written to
 * a temporary name and renamed (tools running side by side never read half a table); read back only
 * when the header, size and hash agree. The directory is bounded (UNWIND_CACHE_MAX_BYTES): after a
 * write the least recently used tables (by mtime, set on every read) go until it fits.
 *
 * Where: $BPF_RECIPES_UNWIND_CACHE (a directory; `off` for none), else
 * $XDG_CACHE_HOME/bpf-recipes/unwind, else ~/.cache/bpf-recipes/unwind. A cache that cannot be
 * read or written only costs the build: the tool never fails for it (-v says why).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CFI_TABLE_VERSION, type CfiRow } from '@bpf-recipes/symbols';

/** bytes of struct recipes_unwind_row (recipes_unwind.h) */
export const ROW_SIZE = 12;

/** A table's rows in unwind_rows' layout (struct recipes_unwind_row): what the cache keeps. */
export function encodeRows(rows: readonly CfiRow[]): Buffer {
  const values = Buffer.alloc(rows.length * ROW_SIZE);
  rows.forEach((r, i) => {
    const at = i * ROW_SIZE;
    values.writeUInt32LE(r.pc, at);
    values.writeInt32LE(r.cfaOffset, at + 4);
    values.writeUInt8(r.cfa, at + 8);
    values.writeUInt8(r.fp, at + 9);
    values.writeInt16LE(Math.max(-32768, Math.min(32767, r.fpOffset)), at + 10);
  });
  return values;
}

/** The cache's own format (header, encodeRows' layout): bump it when either changes. */
export const UNWIND_CACHE_FORMAT = 1;
/** the most the cache directory holds; the least recently used tables go beyond it */
export const UNWIND_CACHE_MAX_BYTES = 64 * 1024 * 1024;
const MAGIC = Buffer.from('BRUNWIND');
/** magic, format, row size, rows, SHA-1 of the rows (20), padding */
const HEADER = 48;
const SUFFIX = '.rows';

/** The cache directory the environment asks for, or undefined when it is turned off (BPF_RECIPES_UNWIND_CACHE=off). */
export function unwindCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.BPF_RECIPES_UNWIND_CACHE;
  if (set !== undefined && set !== '') return /^(off|none|0|false|no)$/i.test(set) ? undefined : set;
  const xdg = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(xdg, 'bpf-recipes', 'unwind');
}

/** What, besides the build-id, decides a file's rows. */
export interface TableIdentity {
  buildId: string;
  /** the architecture's name (its register rules) */
  arch: string;
  /** bytes of .eh_frame and .debug_frame (0: none) */
  ehFrame: bigint | number;
  debugFrame: bigint | number;
  /** bytes of one row (recipes_unwind.h) */
  rowSize: number;
}

export interface UnwindCacheStats {
  hits: number;
  misses: number;
  writes: number;
  /** tables removed to keep the directory within its bound */
  removed: number;
  /** reads or writes that failed (unreadable directory, full disk, a damaged file) */
  errors: number;
}

export class UnwindCache {
  readonly stats: UnwindCacheStats = { hits: 0, misses: 0, writes: 0, removed: 0, errors: 0 };
  private made = false;
  private warned = false;

  constructor(
    readonly dir: string,
    private readonly o: { maxBytes?: number; verbose?: (message: string) => void } = {},
  ) {}

  /** A table's file name: the build-id, then a hash of everything else that decides its rows. */
  nameOf(id: TableIdentity): string {
    const tag = createHash('sha1')
      .update(`${UNWIND_CACHE_FORMAT}:${CFI_TABLE_VERSION}:${id.arch}:${id.rowSize}:${id.ehFrame}:${id.debugFrame}`)
      .digest('hex')
      .slice(0, 16);
    return `${id.buildId}-${tag}${SUFFIX}`;
  }

  /** The rows of a table built before (rows × rowSize bytes), or undefined (not there, or not intact). */
  get(id: TableIdentity): Buffer | undefined {
    const path = join(this.dir, this.nameOf(id));
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      // not there (nor its directory, yet): a miss; a write then says what is wrong
      if (!['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) this.fail(`cannot read ${path}`, e);
      this.stats.misses++;
      return undefined;
    }
    const rows = data.length >= HEADER ? data.readUInt32LE(16) : -1;
    const intact =
      rows >= 0 &&
      data.subarray(0, 8).equals(MAGIC) &&
      data.readUInt32LE(8) === UNWIND_CACHE_FORMAT &&
      data.readUInt32LE(12) === id.rowSize &&
      data.length === HEADER + rows * id.rowSize &&
      createHash('sha1').update(data.subarray(HEADER)).digest().equals(data.subarray(20, 40));
    if (!intact) {
      this.o.verbose?.(`unwind cache: ${path} is damaged: built again`);
      this.stats.errors++;
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    try {
      const now = new Date();
      utimesSync(path, now, now); // its use, for the least-recently-used bound
    } catch {
      // removed meanwhile by another tool's bound: the rows are read already
    }
    return data.subarray(HEADER);
  }

  /** Keep a built table (its rows in the map's layout); then the directory trimmed to its bound. */
  put(id: TableIdentity, rows: Buffer): void {
    const name = this.nameOf(id);
    const path = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(UNWIND_CACHE_FORMAT, 8);
    header.writeUInt32LE(id.rowSize, 12);
    header.writeUInt32LE(rows.length / id.rowSize, 16);
    createHash('sha1').update(rows).digest().copy(header, 20);
    try {
      if (!this.made) {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.made = true;
      }
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, header);
        writeSync(fd, rows);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      this.stats.writes++;
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // never made
      }
      this.fail(`cannot write ${path}`, e);
      return;
    }
    this.trim(name);
  }

  /** The least recently used tables removed until the directory is within its bound (never `keep`). */
  trim(keep?: string): void {
    const max = this.o.maxBytes ?? UNWIND_CACHE_MAX_BYTES;
    let entries: { name: string; size: number; used: number }[];
    try {
      entries = readdirSync(this.dir)
        .filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.'))
        .flatMap((name) => {
          try {
            const st = statSync(join(this.dir, name));
            return [{ name, size: st.size, used: st.mtimeMs }];
          } catch {
            return []; // removed meanwhile
          }
        });
    } catch (e) {
      this.fail(`cannot list ${this.dir}`, e);
      return;
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    if (total <= max) return;
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= max) break;
      if (e.name === keep) continue;
      try {
        unlinkSync(join(this.dir, e.name));
        this.stats.removed++;
      } catch {
        // removed by another tool meanwhile
      }
      total -= e.size;
    }
  }

  private fail(what: string, e: unknown): void {
    this.stats.errors++;
    if (this.warned) return;
    this.warned = true;
    this.o.verbose?.(`unwind cache: ${what} (${(e as Error).message}): tables are built at each start (BPF_RECIPES_UNWIND_CACHE=DIR for another directory, =off for none)`);
  }
}

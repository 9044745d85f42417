/**
 * A stack tool's counts map, named: each key (process, kernel stack id, user stack id) is named
 * once, the first time it is seen (while its process probably still runs), and its total read at
 * each print. `take()` gives what grew since the last take, merged by what is printed.
 */
import { type FlameFrame, type FlameStack } from '@bpf-recipes/flame';
import { type StackNamer } from './names.js';

/** One key of the counts map and its value, as the tool decodes them. */
export interface StackEntry {
  /** the key's bytes (identity of the entry) */
  id: string;
  pid: number;
  comm: string;
  kstack: number;
  ustack: number;
  /** the total the kernel has for it (a count, microseconds, ...) */
  value: number;
}

export interface NamedStack {
  pid: number;
  comm: string;
  /** leaf first; undefined when not captured */
  kernel: FlameFrame[] | undefined;
  user: FlameFrame[] | undefined;
}

/** A printed stack: merged by comm (or PID with -P) and frame names. */
export interface StackRow {
  /** only with -P */
  pid?: number;
  comm: string;
  /** leaf first */
  kernel?: FlameFrame[];
  user?: FlameFrame[];
  /** a count, or a weight (microseconds) */
  count: number;
  /** pprof: the values of the writer's more sample types (StackWriterOptions.more) */
  more?: number[];
}

const nameOf = (f: FlameFrame): string => f.name;

export class StackTable {
  private readonly named = new Map<string, NamedStack>();
  private readonly prev = new Map<string, number>();

  constructor(
    private readonly namer: StackNamer,
    /** the entries of the counts map now */
    private readonly entries: () => Iterable<StackEntry>,
    private readonly perProcess: boolean,
  ) {}

  /** Name the keys not seen before (call it every second: a process that exits keeps its names). */
  nameNew(): void {
    for (const e of this.entries()) if (!this.named.has(e.id)) this.name(e);
    this.namer.prune();
  }

  private name(e: StackEntry): NamedStack {
    let n = this.named.get(e.id);
    if (!n) {
      n = { pid: e.pid, comm: e.comm, kernel: this.namer.kernel(e.kstack), user: this.namer.user(e.pid, e.ustack) };
      this.named.set(e.id, n);
    }
    return n;
  }

  /** Every key with its total now. */
  totals(): { stack: NamedStack; total: number; id: string }[] {
    const out: { stack: NamedStack; total: number; id: string }[] = [];
    for (const e of this.entries()) out.push({ stack: this.name(e), total: e.value, id: e.id });
    this.namer.prune();
    return out;
  }

  /** What grew since the last take (everything, the first time), merged and sorted by count, largest first. */
  take(): StackRow[] {
    const parts: { stack: NamedStack; count: number }[] = [];
    for (const { stack, total, id } of this.totals()) {
      const d = total - (this.prev.get(id) ?? 0);
      this.prev.set(id, total);
      if (d > 0) parts.push({ stack, count: d });
    }
    return mergeRows(parts, this.perProcess);
  }

  /** Everything counted so far, merged and sorted (does not move take()'s mark). */
  all(): StackRow[] {
    return mergeRows(this.totals().map(({ stack, total }) => ({ stack, count: total })), this.perProcess);
  }

  /** Forget every key (after the tool cleared its maps). */
  reset(): void {
    this.named.clear();
    this.prev.clear();
    this.namer.forgetIds();
  }
}

/** Merge by what is printed (comm or PID, and the frames' names), largest count first. */
export function mergeRows(parts: Iterable<{ stack: NamedStack; count: number }>, perProcess: boolean): StackRow[] {
  const rows = new Map<string, StackRow>();
  for (const { stack: s, count } of parts) {
    if (!(count > 0)) continue;
    const group = JSON.stringify([perProcess ? s.pid : undefined, s.comm, s.kernel?.map(nameOf), s.user?.map(nameOf)]);
    const r = rows.get(group);
    if (r) r.count += count;
    else rows.set(group, { ...(perProcess ? { pid: s.pid } : {}), comm: s.comm, ...(s.kernel ? { kernel: s.kernel } : {}), ...(s.user ? { user: s.user } : {}), count });
  }
  return [...rows.values()].sort((x, y) => y.count - x.count);
}

/** A row as a flame graph stack, root first: the comm (`comm-PID` with -P), user frames outermost, then kernel frames. */
export function flameStack(r: StackRow): FlameStack {
  return {
    frames: [{ name: r.pid !== undefined ? `${r.comm}-${r.pid}` : r.comm }, ...(r.user ?? []).slice().reverse(), ...(r.kernel ?? []).slice().reverse()],
    count: r.count,
    ...(r.more ? { more: r.more } : {}),
  };
}

/** A row in --json: frame names leaf first; `count` under the name the tool gives its number. */
export function jsonStack(r: StackRow, countKey = 'count'): Record<string, unknown> {
  return {
    ...(r.pid !== undefined ? { pid: r.pid } : {}),
    comm: r.comm,
    [countKey]: r.count,
    ...(r.kernel ? { kernel: r.kernel.map(nameOf) } : {}),
    ...(r.user ? { user: r.user.map(nameOf) } : {}),
  };
}

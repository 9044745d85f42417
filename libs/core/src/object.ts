/**
 * A BPF object through its life: open → config (.rodata) → choose programs → load → attach →
 * maps and ring buffers → close (links destroyed in reverse order, then the object).
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import type { RodataLayout } from './decode.js';
import { AttachError, BpfError, LoadError, PreflightError, RecipesError, hintFor } from './errors.js';
import { errno, isNull, libbpf, view, type Ptr } from './ffi.js';
import { LibbpfLog } from './log.js';
import { objectForArch } from './arch.js';
import { BpfMap } from './map.js';
import { RingBuffer, type DrainHooks, type RecordHandler } from './ringbuf.js';
import { Tracefs } from './tracefs.js';

export interface Program {
  name: string;
  section: string;
  ptr: Ptr;
}

export interface UprobeTarget {
  /** path of the ELF file (library or executable) */
  binary: string;
  /** symbol to resolve (libbpf looks it up in the ELF); or give `offset` */
  func?: string;
  offset?: number;
  /** only this process (-1: all) */
  pid?: number;
  retprobe?: boolean;
  /** a value the program reads with bpf_get_attach_cookie() (which of several attach points fired) */
  cookie?: number;
}

export interface Skipped { program: string; reason: string }

export interface OpenOptions {
  /** stream libbpf's log of this object to stderr (else its warnings are kept for error reports) */
  verbose?: boolean;
  /** the log this object's libbpf calls print to (default: a new one, verbose as above) */
  log?: LibbpfLog;
  /** where to look for tracepoints (default: the system's, found when first asked) */
  tracefs?: Tracefs;
}

/** struct bpf_prog_info (uapi, the same on every architecture): its size as of 6.x, and where its
 * recursion_misses counter is (a kernel that does not know the field returns a shorter info) */
const PROG_INFO_SIZE = 232;
const RECURSION_MISSES_OFFSET = 208;

export class BpfObject {
  readonly programs: Program[] = [];
  readonly skipped: Skipped[] = [];
  private readonly links: { ptr: Ptr; program: string }[] = [];
  private readonly rings: RingBuffer[] = [];
  private readonly maps = new Map<string, BpfMap>();
  private ptr: Ptr | null;
  private loaded = false;

  private constructor(readonly path: string, ptr: Ptr, readonly log: LibbpfLog, private readonly tracefs: Tracefs) {
    this.ptr = ptr;
    const l = libbpf();
    for (let p = l.bpf_object__next_program(ptr, null); !isNull(p); p = l.bpf_object__next_program(ptr, p)) {
      this.programs.push({ name: l.bpf_program__name(p), section: l.bpf_program__section_name(p), ptr: p });
    }
  }

  static open(name: string, opts: OpenOptions = {}): BpfObject {
    const { path, missing } = objectForArch(name);
    if (missing) throw new PreflightError(missing);
    if (!existsSync(path)) throw new PreflightError(`BPF object ${path} is missing: reinstall the package (or run npm run build)`);
    const log = opts.log ?? new LibbpfLog({ verbose: opts.verbose });
    const ptr = log.run(() => libbpf().bpf_object__open_file(path, null) as Ptr | null);
    if (isNull(ptr)) throw new BpfError(`open ${path}`, errno(), hintFor('open', errno()), log.take().join('\n'));
    return new BpfObject(path, ptr!, log, opts.tracefs ?? new Tracefs());
  }

  /**
   * Runs of this object's programs the kernel skipped (`recursion_misses` of each program's info,
   * 5.12+): a program already running on that CPU (an interrupt on top of it hitting the same hook)
   * is not run again, so whatever that run would have counted or sent is missing. 0 before load.
   */
  skippedRuns(): number {
    const l = libbpf();
    const info = Buffer.alloc(PROG_INFO_SIZE);
    let n = 0;
    for (const p of this.programs) {
      const fd = this.ptr === null ? -1 : (l.bpf_program__fd(p.ptr) as number);
      if (fd < 0) continue;
      info.fill(0);
      const len = [info.length];
      if (l.bpf_obj_get_info_by_fd(fd, info, len) !== 0) continue;
      if (len[0] >= RECURSION_MISSES_OFFSET + 8) n += Number(info.readBigUInt64LE(RECURSION_MISSES_OFFSET));
    }
    return n;
  }

  private get obj(): Ptr {
    if (this.ptr === null) throw new RecipesError('BPF object already closed');
    return this.ptr;
  }

  program(name: string): Program {
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new RecipesError(`no BPF program ${name} in ${this.path}`);
    return p;
  }

  /** Write read-only config (`const volatile` globals) before load. */
  setConfig(layout: RodataLayout, values: Record<string, unknown>): void {
    if (this.loaded) throw new RecipesError('config must be set before load');
    const entries = Object.entries(values).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    const l = libbpf();
    const map = l.bpf_object__find_map_by_name(this.obj, '.rodata');
    if (isNull(map)) throw new RecipesError(`${this.path} has no .rodata to configure`);
    const size = [0];
    const data = l.bpf_map__initial_value(map, size) as Ptr;
    const buf = Buffer.from(view(data, size[0]));
    for (const [name, value] of entries) {
      const v = layout[name];
      if (!v) throw new RecipesError(`${this.path} has no config variable ${name}`);
      writeValue(buf, v.offset, v.size, v.type, value, name);
    }
  }

  setAutoload(name: string, on: boolean): void {
    libbpf().bpf_program__set_autoload(this.program(name).ptr, on);
  }

  autoload(name: string): boolean {
    return libbpf().bpf_program__autoload(this.program(name).ptr);
  }

  /** Resize a map before load (a map of this object, or its name). */
  setMaxEntries(map: string | BpfMap, n: number): void {
    const mapName = typeof map === 'string' ? map : map.name;
    const m = typeof map === 'string' ? libbpf().bpf_object__find_map_by_name(this.obj, mapName) : map.ptr;
    if (isNull(m)) throw new RecipesError(`no map ${mapName} in ${this.path}`);
    const rc = this.log.run(() => libbpf().bpf_map__set_max_entries(m, n));
    if (rc !== 0) throw new BpfError(`resize map ${mapName}`, -rc || errno());
  }

  /**
   * Turn off autoloaded programs whose tracepoint this kernel lacks, so one missing
   * syscall does not stop a tool; what was skipped is listed in `skipped`.
   */
  skipMissingTracepoints(): Skipped[] {
    for (const p of this.programs) {
      if (!this.autoload(p.name)) continue;
      const missing = missingTracepoint(this.tracefs, p.section);
      if (missing) {
        this.setAutoload(p.name, false);
        this.skipped.push({ program: p.name, reason: `tracepoint ${missing} does not exist on this kernel` });
      }
    }
    return this.skipped;
  }

  load(): void {
    this.log.take();
    const rc = this.log.run(() => libbpf().bpf_object__load(this.obj));
    if (rc !== 0) {
      const e = -rc || errno();
      const log = this.log.take();
      throw new LoadError(`load of ${this.path.split('/').pop()}`, e, hintFor('load', e), log.join('\n'));
    }
    this.loaded = true;
  }

  /** Attach by section name (tracepoint, raw_tp, tp_btf, auto-attachable uprobes). */
  attach(name: string): void {
    const p = this.program(name);
    const link = this.log.run(() => libbpf().bpf_program__attach(p.ptr) as Ptr | null);
    if (isNull(link)) {
      const e = errno();
      throw new AttachError(`attach ${name} (${p.section})`, e, hintFor('attach', e), this.log.take().join('\n'));
    }
    this.links.push({ ptr: link!, program: name });
  }

  /** Attach every loaded program whose section tells libbpf where (tracepoints and the like), but those attached already. */
  attachAll(): string[] {
    const done: string[] = [];
    for (const p of this.programs) {
      if (!this.autoload(p.name) || !autoAttachable(p.section) || this.links.some((l) => l.program === p.name)) continue;
      this.attach(p.name);
      done.push(p.name);
    }
    return done;
  }

  attachUprobe(name: string, t: UprobeTarget): void {
    const l = libbpf();
    const p = this.program(name);
    const opts = { sz: 40, ref_ctr_offset: 0, bpf_cookie: t.cookie ?? 0, retprobe: Boolean(t.retprobe), func_name: t.func ?? null };
    const link = this.log.run(() => l.bpf_program__attach_uprobe_opts(p.ptr, t.pid ?? -1, t.binary, t.offset ?? 0, opts) as Ptr | null);
    if (isNull(link)) {
      const e = errno();
      const what = `${t.retprobe ? 'uretprobe' : 'uprobe'} ${t.binary}:${t.func ?? '0x' + (t.offset ?? 0).toString(16)}`;
      throw new AttachError(`attach ${name} to ${what}`, e, hintFor('attach', e), this.log.take().join('\n'));
    }
    this.links.push({ ptr: link!, program: name });
  }

  /** Attach a tracepoint program to a tracepoint named at run time (a SEC("tracepoint") without a target). */
  attachTracepoint(name: string, category: string, event: string): void {
    const p = this.program(name);
    const link = this.log.run(() => libbpf().bpf_program__attach_tracepoint(p.ptr, category, event) as Ptr | null);
    if (isNull(link)) {
      const e = errno();
      throw new AttachError(`attach ${name} to tracepoint ${category}:${event}`, e, hintFor('attach', e), this.log.take().join('\n'));
    }
    this.links.push({ ptr: link!, program: name });
  }

  attachPerfEvent(name: string, perfFd: number): void {
    const p = this.program(name);
    const link = this.log.run(() => libbpf().bpf_program__attach_perf_event(p.ptr, perfFd) as Ptr | null);
    if (isNull(link)) {
      const e = errno();
      throw new AttachError(`attach ${name} to a perf event`, e, hintFor('attach', e));
    }
    this.links.push({ ptr: link!, program: name });
  }

  /** Attach a cgroup program (cgroup/sock_create, cgroup/sock_release, ...) to a cgroup v2 directory. */
  attachCgroup(name: string, cgroupPath: string): void {
    const p = this.program(name);
    let fd: number;
    try {
      fd = openSync(cgroupPath, 'r');
    } catch (e) {
      throw new PreflightError(`cannot open cgroup ${cgroupPath}: ${(e as Error).message}`);
    }
    try {
      const link = this.log.run(() => libbpf().bpf_program__attach_cgroup(p.ptr, fd) as Ptr | null);
      if (isNull(link)) {
        const e = errno();
        throw new AttachError(`attach ${name} to cgroup ${cgroupPath}`, e, hintFor('attach', e), this.log.take().join('\n'));
      }
      this.links.push({ ptr: link!, program: name });
    } finally {
      closeSync(fd); // the link holds the cgroup
    }
  }

  get attachedCount(): number {
    return this.links.length;
  }

  map(name: string): BpfMap {
    let m = this.maps.get(name);
    if (!m) {
      const ptr = libbpf().bpf_object__find_map_by_name(this.obj, name) as Ptr | null;
      if (isNull(ptr)) throw new RecipesError(`no map ${name} in ${this.path}`);
      m = new BpfMap(name, ptr!);
      this.maps.set(name, m);
    }
    return m;
  }

  /** Is this map (from map() or a skeleton) one of this object's? */
  owns(map: BpfMap): boolean {
    return this.maps.get(map.name) === map;
  }

  /** Read a ring buffer map in place; call start() on the result to follow it. */
  ringBuffer(map: string | BpfMap, onRecord: RecordHandler, hooks?: DrainHooks): RingBuffer {
    if (typeof map !== 'string' && !this.owns(map)) throw new RecipesError(`map ${map.name} is not one of ${this.path}'s`);
    const rb = new RingBuffer(typeof map === 'string' ? this.map(map) : map, onRecord, hooks);
    this.rings.push(rb);
    return rb;
  }

  /** Destroy every link, newest first: no new events after this. */
  detach(): void {
    if (this.ptr === null) return;
    const l = libbpf();
    while (this.links.length) l.bpf_link__destroy(this.links.pop()!.ptr);
  }

  /**
   * detach(), with every link destroyed at the same time on libuv's thread pool. Closing a
   * perf-event-based link (tracepoints, uprobes) waits for an RCU grace period in the kernel (~70 ms
   * here); waits that run concurrently end together, so a tool with a dozen tracepoints stops in
   * about one grace period instead of a dozen.
   */
  async detachConcurrently(): Promise<void> {
    if (this.ptr === null) return;
    const destroy = libbpf().bpf_link__destroy;
    const links = this.links.splice(0).reverse();
    await Promise.all(links.map((k) => new Promise<void>((res) => destroy.async(k.ptr, () => res()))));
  }

  /** Read what is left in every ring buffer (after detach, before close). */
  drainAll(): void {
    for (const r of this.rings) r.drain();
  }

  /** Detach every probe (newest first), stop reading, free the object. Safe to call twice. */
  close(): void {
    if (this.ptr === null) return;
    const l = libbpf();
    this.detach();
    for (const r of this.rings.splice(0)) r.close();
    const ptr = this.ptr;
    this.log.run(() => l.bpf_object__close(ptr));
    this.ptr = null;
  }
}

function missingTracepoint(tracefs: Tracefs, section: string): string | undefined {
  let m = /^(?:tracepoint|tp)\/([^/]+)\/(.+)$/.exec(section);
  if (m) return tracefs.tracepointExists(m[1], m[2]) ? undefined : `${m[1]}:${m[2]}`;
  m = /^(?:raw_tracepoint|raw_tp|tp_btf)(?:\.w)?\/(.+)$/.exec(section);
  if (m) return tracefs.rawTracepointExists(m[1]) ? undefined : m[1];
  return undefined;
}

function autoAttachable(section: string): boolean {
  return /^(tracepoint|tp|raw_tracepoint|raw_tp|tp_btf)(\.w)?\//.test(section);
}

function writeValue(buf: Buffer, off: number, size: number, type: string, value: unknown, name: string): void {
  const bad = () => new RecipesError(`config ${name}: value ${String(value)} does not fit ${type}[${size}]`);
  if (type === 'string') {
    const s = Buffer.from(String(value), 'utf8');
    if (s.length >= size) throw bad();
    buf.fill(0, off, off + size);
    s.copy(buf, off);
    return;
  }
  if (type === 'bytes' || type === 'struct') {
    const b = value as Uint8Array;
    if (!(b instanceof Uint8Array) || b.length > size) throw bad();
    buf.fill(0, off, off + size);
    buf.set(b, off);
    return;
  }
  const elem = type === 'bool' ? 1 : Number(type.slice(1)) / 8;
  const values = Array.isArray(value) ? value : [value];
  if (values.length * elem > size) throw bad();
  values.forEach((v, i) => {
    const o = off + i * elem;
    if (type === 'bool') buf[o] = v ? 1 : 0;
    else if (elem === 8) {
      const b = BigInt(v as number | bigint);
      if (type[0] === 's') buf.writeBigInt64LE(b, o);
      else buf.writeBigUInt64LE(BigInt.asUintN(64, b), o);
    } else {
      const n = Number(v);
      if (!Number.isInteger(n)) throw bad();
      if (type[0] === 's') buf.writeIntLE(n, o, elem);
      else buf.writeUIntLE(n, o, elem);
    }
  });
}

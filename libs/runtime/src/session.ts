/**
 * A tracing session: the BPF objects one use of a tool opened, loaded and attached, and the ring
 * buffers it follows. Library-safe: it installs no signal handler, prints nothing, never exits —
 * the command (runTool) and the typed API (trace(), start()) are both built on it.
 */
import { readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  RecipesError, armTraced, attachTraced, copyTraced, hasTraced, holdTraced, preflight, recipesConfig, tracedEmpty, tracedTgids,
  type BpfMap, type BpfObject, type CommonFilters, type ConfigOf, type RecordHandler, type Skeleton, type SkeletonClass,
} from '@bpf-recipes/core';
import { commandOptions, type CommandArgs, type CommandOptions } from './command.js';
import { commonFilters, parseSize, pidNamespace, type FilterArgs } from './filters.js';

/** The common filters of every tool, as the typed API takes them (the command's option names). */
export interface CommonTraceOptions {
  /** only these processes (`--pid`) */
  pid?: number[];
  /** only this thread (`--tid`) */
  tid?: number;
  /** only this user (`--uid`) */
  uid?: number;
  /** only processes whose comm contains this (`--name`) */
  name?: string;
  /** only tasks in this cgroup v2 directory (`--cgroup`) */
  cgroup?: string;
  /** ring buffer size in bytes, or with a suffix ('8M'); a power of two (`--buffer-size`) */
  bufferSize?: number | string;
  /** libbpf's log and probe-selection details, handed to `log` */
  verbose?: boolean;
  /**
   * Run this command (and its arguments; looked up in PATH) and trace only it and what it starts,
   * from its execve to the exit of the last of them (`-- COMMAND`)
   */
  command?: string[];
  /** with command: only the command's own process (`--no-follow`) */
  noFollow?: boolean;
  /** with command: run it as this user, name or uid (`--user`) */
  runAs?: string;
  /**
   * Trace this process too. By default it is left out (the command's own work would feed back),
   * unless `pid` names it: `trace({ pid: [process.pid] })` sees the caller's own calls.
   */
  traceSelf?: boolean;
}

/**
 * How a tool's programs count (recipes.h's cfg_metrics, cfg_events, cfg_metrics_by), asked the
 * same way by the command (--metrics, --metrics-by), the typed API and the exporter.
 */
export interface Counting {
  /** count into the tool's metrics maps (--metrics, the exporter) */
  metrics?: boolean;
  /** send events to user space (default true; the exporter counts only) */
  events?: boolean;
  /** --metrics-by: key the counters by comm, or by cgroup (cgroup and container) */
  by?: { by: 'comm' | 'cgroup' | 'container' };
}

/** Counting as the kernel config of the objects that have it (a key an object lacks is not written). */
export function countingConfig(c: Counting): Record<string, boolean | number> {
  return { cfg_metrics: Boolean(c.metrics), cfg_events: c.events ?? true, cfg_metrics_by: c.by === undefined ? 0 : c.by.by === 'comm' ? 1 : 2 };
}

export interface SessionOptions {
  /** the tool's name, in messages */
  tool: string;
  /** kernel-side filters, already parsed */
  filters?: CommonFilters;
  /** ring buffer size in bytes (recipes.h's default when undefined) */
  bufferSize?: number;
  verbose?: boolean;
  /** trace this process too (the typed API, when asked); the command always leaves itself out */
  traceSelf?: boolean;
  /** where verbose lines and notes go (nowhere when undefined) */
  log?: (message: string) => void;
  /** progress marks for BPF_RECIPES_TIMING */
  mark?: (what: string) => void;
  /** `-- COMMAND`: only the command's processes (and, unless noFollow, every process they start) */
  command?: CommandOptions;
}

/** The typed API's options as the command's: validated by the same parsers (UsageError on bad input). */
export function sessionOptions(tool: string, o: CommonTraceOptions, log?: (message: string) => void): SessionOptions {
  const args: FilterArgs & CommandArgs = {
    ...(o.pid !== undefined && { pid: o.pid.join(',') }),
    ...(o.tid !== undefined && { tid: String(o.tid) }),
    ...(o.uid !== undefined && { uid: String(o.uid) }),
    ...(o.name !== undefined && { name: o.name }),
    ...(o.cgroup !== undefined && { cgroup: o.cgroup }),
    ...(o.command !== undefined && { command: o.command }),
    ...(o.noFollow !== undefined && { 'no-follow': o.noFollow }),
    ...(o.runAs !== undefined && { user: o.runAs }),
  };
  return {
    tool,
    filters: commonFilters(args),
    bufferSize: o.bufferSize === undefined ? undefined : parseSize(String(o.bufferSize)),
    verbose: Boolean(o.verbose),
    traceSelf: o.traceSelf ?? o.pid?.includes(process.pid) ?? false,
    log,
    command: commandOptions(args),
  };
}

/** The command line's common options as session options (UsageError on bad input). */
export function sessionOptionsFromArgs(tool: string, a: FilterArgs & CommandArgs & { 'buffer-size'?: string; verbose?: boolean }, log: (message: string) => void, mark?: (what: string) => void): SessionOptions {
  return {
    tool,
    filters: commonFilters(a),
    bufferSize: a['buffer-size'] === undefined ? undefined : parseSize(a['buffer-size']),
    verbose: Boolean(a.verbose),
    log,
    mark,
    command: commandOptions(a),
  };
}

/** This process's PID as the namespace of the /proc mount numbers it (undefined without /proc). */
function procPidOf(): number | undefined {
  try {
    return Number(readlinkSync('/proc/self'));
  } catch {
    return undefined;
  }
}

export class Session {
  readonly objects: BpfObject[] = [];
  private readonly lostMaps = new Map<BpfObject, BpfMap | null>();
  private readonly lostSeen = new Map<BpfObject, number>();
  /** loaded objects that keep the set of a command's processes (recipes_traced.h) */
  private readonly traced: BpfObject[] = [];
  private commandPid: number | undefined;
  private closed = false;

  constructor(readonly options: SessionOptions) {}

  /** a line for -v (dropped unless verbose) */
  verbose(message: string): void {
    if (this.options.verbose) this.options.log?.(`${this.options.tool}: ${message}`);
  }

  /** a line the user should see whatever -v says (e.g. what a container's view leaves out) */
  note(message: string): void {
    this.options.log?.(message);
  }

  private mark(what: string): void {
    this.options.mark?.(what);
  }

  /**
   * Preflight, open the object through its generated skeleton, write the common filters, the
   * counting asked for (when the object has those variables) and the tool's typed config; returns
   * the skeleton unloaded.
   */
  open<S extends Skeleton>(skeleton: SkeletonClass<S>, objectPath: string | URL, config?: ConfigOf<S>, counting?: Counting): S {
    if (this.closed) throw new RecipesError('this trace is closed');
    preflight();
    this.mark('preflight done');
    const path = objectPath instanceof URL ? fileURLToPath(objectPath) : objectPath;
    const skel = skeleton.open(path, { verbose: Boolean(this.options.verbose) });
    this.mark('object opened');
    this.objects.push(skel.obj);
    // inside a PID namespace, ids are printed and filtered as it sees them (recipes.h)
    const ns = pidNamespace();
    if (ns && procPidOf() !== process.pid) {
      this.note(`${this.options.tool}: /proc is not this PID namespace's (mount -t proc proc /proc, or unshare --mount-proc): names looked up there by PID may be another process's`);
    }
    const common = {
      ...recipesConfig({ ...this.options.filters, ...(!this.options.traceSelf && { selfTgid: process.pid }), ...(ns && { pidns: ns }), tracedOnly: Boolean(this.options.command) }),
      ...(counting && countingConfig(counting)),
    };
    const present = Object.fromEntries(Object.entries(common).filter(([k]) => k in skeleton.rodata));
    skel.setConfig({ ...present, ...(config as object) } as ConfigOf<S>);
    return skel;
  }

  /**
   * Skip missing tracepoints (noted under -v), load, attach every auto-attachable program. A
   * skeleton hands over its ring buffer (sized by bufferSize) and lost-event counter (reported):
   * by default recipes.h's `events` and `lost_events` (RECIPES_EVENTS), when the object has them.
   */
  loadAndAttach(skel: Skeleton<never>, opts: { attach?: boolean; ring?: BpfMap; lost?: BpfMap } = {}): void {
    const obj = skel.obj;
    const maps = (skel as { maps?: Record<string, BpfMap | undefined> }).maps ?? {};
    opts = { ring: maps.events, lost: maps.lost_events, ...opts };
    if (opts.lost) this.lostMaps.set(obj, opts.lost);
    if (opts.ring && this.options.bufferSize !== undefined) obj.setMaxEntries(opts.ring, this.options.bufferSize);
    const command = this.options.command;
    if (command) {
      if (!hasTraced(obj)) throw new RecipesError(`${obj.path} cannot trace a command (it does not include recipes.h)`);
      armTraced(obj, !command.noFollow);
    }
    for (const s of obj.skipMissingTracepoints()) this.verbose(`skipping ${s.program}: ${s.reason}`);
    obj.load();
    this.mark('loaded');
    if (command) {
      // the set is kept whatever the tool attaches by hand (perf events, uprobes, a named tracepoint)
      this.verbose(`attached ${attachTraced(obj).join(', ')}`);
      // an object loaded once the command runs starts from the processes traced so far
      if (this.traced.length) copyTraced(this.traced[0], obj);
      else if (this.commandPid !== undefined) holdTraced(obj, this.commandPid);
      this.traced.push(obj);
    }
    if (opts.attach !== false) {
      const attached = obj.attachAll();
      this.mark('attached');
      this.verbose(`attached ${attached.join(', ')}`);
    }
  }

  /**
   * Follow a ring buffer (a skeleton's map): records are handed over as they arrive; `batch`
   * brackets each drain (the command writes a drain's output in one write).
   */
  follow(ring: BpfMap, onRecord: RecordHandler, batch?: { before: () => void; after: () => void }): void {
    const owner = this.objects.find((o) => o.owns(ring));
    if (!owner) throw new RecipesError(`ring buffer ${ring.name} is not a map of an object this session opened`);
    const rb = owner.ringBuffer(ring, onRecord, batch);
    rb.start();
    // deliver what arrived between attach and start
    rb.drain();
  }

  /** the lost-event counter an object's skeleton handed over (none: the object has no events) */
  private lostMap(obj: BpfObject): BpfMap | null {
    return this.lostMaps.get(obj) ?? null;
  }

  /** `count(obj)` summed over every object this session opened (a closed object counts nothing) */
  private sumOverObjects(count: (obj: BpfObject) => number): number {
    let n = 0;
    for (const obj of this.objects) {
      try {
        n += count(obj);
      } catch {
        /* a closed object */
      }
    }
    return n;
  }

  /** an object's events lost so far (0: an object without events) */
  private lostOf(obj: BpfObject): number {
    const m = this.lostMap(obj);
    return m ? m.sumU64(Buffer.alloc(4)) : 0;
  }

  /** Events lost so far (ring buffer full), over every object. */
  lost(): number {
    return this.sumOverObjects((obj) => this.lostOf(obj));
  }

  /**
   * Program runs the kernel skipped so far, over every object (see BpfObject.skippedRuns): what
   * they would have sent or counted is missing, so they are reported beside lost events.
   */
  skippedRuns(): number {
    return this.sumOverObjects((obj) => obj.skippedRuns());
  }

  /** Events lost since the last call (the first call: since the start). */
  lostSinceLastCall(): number {
    return this.sumOverObjects((obj) => {
      const total = this.lostOf(obj);
      const n = total - (this.lostSeen.get(obj) ?? 0);
      this.lostSeen.set(obj, total);
      return n;
    });
  }

  /**
   * `-- COMMAND`: the command's process, held before its exec, is the one to trace: from its next
   * exec on, it and (unless --no-follow) everything it starts pass the filters.
   */
  traceCommand(pid: number): void {
    if (!this.options.command) throw new RecipesError('this session was not opened for a command');
    this.commandPid = pid;
    for (const o of this.traced) holdTraced(o, pid);
  }

  /** The command's processes still alive (the tool's PID namespace's numbers). */
  tracedProcesses(): number[] {
    const all = new Set<number>();
    for (const o of this.traced) for (const p of tracedTgids(o)) all.add(p);
    return [...all];
  }

  /** Has every process of the command exited? */
  commandEnded(): boolean {
    return this.traced.every((o) => tracedEmpty(o));
  }

  /** Detach every program (concurrently: detaching costs an RCU grace period each), then deliver what is left in the ring buffers. */
  async detach(batch?: (fn: () => void) => void): Promise<void> {
    await Promise.all(this.objects.map((o) => o.detachConcurrently()));
    const drain = () => {
      for (const o of this.objects) o.drainAll();
    };
    if (batch) batch(drain);
    else drain();
  }

  /** Free everything: links, maps, ring buffers (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const o of this.objects) o.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

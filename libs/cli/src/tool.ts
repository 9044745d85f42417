/**
 * A tool's life: parse options (exit 2 on bad input) → preflight → open/config/load/attach →
 * "Tracing ..." on stderr → events → stop on Ctrl-C, SIGTERM, SIGHUP, --duration or EPIPE →
 * detach, final drain, summary, lost-event report → exit 0 (1 on runtime failure).
 */
import { readlinkSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BpfObject, RECIPES_LOST, RECIPES_RING, RecipesError, UsageError, preflight, recipesConfig,
  type BpfMap, type ConfigOf, type RecordHandler, type RodataLayout, type Skeleton, type SkeletonClass,
} from '@bpf-recipes/core';
import { Clock } from '@bpf-recipes/format';
import { helpText, parseCommandLine, yargsCodeCache, type OptionSpec } from './args.js';
import type { ToolMetrics } from '@bpf-recipes/metrics';
import { COMMON_OPTIONS, commonFilters, parseDuration, parseMetricsAddress, parseSize, pidNamespace, type CommonArgs, type CommonOption } from './options.js';
import { Output, note } from './output.js';

export interface ToolSpec {
  name: string;
  version: string;
  /** one line: what the tool shows */
  summary: string;
  /** positional part of the usage line, e.g. "[options]" */
  usage?: string;
  examples: [string, string][];
  /** the tool's own options; the same table feeds the parser, --help and the man page */
  options: Record<string, OptionSpec>;
  common: CommonOption[];
  /** text under the examples: caveats, column meanings */
  notes?: string;
}

/** Every option of a tool, common ones included, in the order --help shows them. */
export function allOptions(spec: ToolSpec): Record<string, OptionSpec> {
  const own: Record<string, OptionSpec> = {};
  for (const [k, o] of Object.entries(spec.options)) own[k] = { group: 'Options:', ...o };
  for (const c of spec.common) own[c] = { ...COMMON_OPTIONS[c], group: 'Common options:' };
  // every tool serves metrics (its own series where it registers collectors)
  if (!spec.common.includes('metrics')) own.metrics = { ...COMMON_OPTIONS.metrics, group: 'Common options:' };
  return own;
}

/** Parse the command line (UsageError on bad input); --help and --version print and exit 0. */
export function parseArgs<A>(spec: ToolSpec, argv: string[] = process.argv.slice(2)): A & CommonArgs {
  const table = allOptions(spec);
  const parsed = parseCommandLine(table, argv);
  if (parsed.help || parsed.version) {
    const width = process.stdout.isTTY ? Math.min(110, process.stdout.columns || 100) : 100;
    try {
      writeSync(1, parsed.help ? helpText(spec, table, width) : `${spec.version}\n`);
    } catch {
      /* a reader that went away (--help | head -1) */
    }
    process.exit(0);
  }
  return parsed.args as A & CommonArgs;
}

export interface ToolContext<A> {
  args: A & CommonArgs;
  out: Output;
  clock: Clock;
  /** wall-clock ms at start */
  startMs: number;
  /**
   * Preflight, open the object through its generated skeleton, write the common filters and the
   * tool's typed config; returns the skeleton unloaded.
   */
  open<S extends Skeleton>(skeleton: SkeletonClass<S>, objectPath: string | URL, config?: ConfigOf<S>): S;
  /** The same for an object opened by path, with its config by name (tools not yet on a skeleton). */
  open(objectPath: string, layout: RodataLayout, config?: Record<string, unknown>): BpfObject;
  /**
   * Skip missing tracepoints (noted under -v), load, attach every auto-attachable program. A
   * skeleton hands over its ring buffer (sized by --buffer-size) and lost-event counter (reported).
   */
  loadAndAttach(target: BpfObject | Skeleton<never>, opts?: { attach?: boolean; ring?: BpfMap; lost?: BpfMap }): void;
  /** follow a ring buffer (a skeleton's map); output written during one drain goes out in one write */
  follow(ring: BpfMap, onRecord: RecordHandler): void;
  follow(obj: BpfObject, map: string, onRecord: RecordHandler): void;
  /** every `ms`, with output flushed after */
  every(ms: number, fn: () => void): void;
  /** the readiness line, on stderr: start it with "Tracing" */
  ready(message: string): void;
  /** summary printers run at stop (not after EPIPE) */
  onStop(fn: () => void): void;
  /** awaited at stop after the summary, before exit (e.g. wait for child processes); runs after EPIPE too */
  beforeExit(fn: () => Promise<void>): void;
  stop(code?: number): void;
  verbose(message: string): void;
  /**
   * With --metrics: the tool's Prometheus registry, already serving. Register collectors that read
   * kernel maps at scrape time (ctx.metrics?.counter(...)); undefined without --metrics.
   */
  metrics?: ToolMetrics;
}

/** This process's PID as the namespace of the /proc mount numbers it (undefined without /proc). */
function procPidOf(): number | undefined {
  try {
    return Number(readlinkSync('/proc/self'));
  } catch {
    return undefined;
  }
}

/** BPF_RECIPES_TIMING=1: startup marks (ms since the process started) on stderr, for benchmarks. */
const timing = process.env.BPF_RECIPES_TIMING === '1';
function mark(what: string): void {
  if (timing) note(`timing: ${what} ${performance.now().toFixed(1)} ms`);
}

export async function runTool<A>(spec: ToolSpec, main: (ctx: ToolContext<A>) => void | Promise<void>): Promise<void> {
  mark('modules loaded');
  let args: A & CommonArgs;
  try {
    args = parseArgs<A>(spec);
  } catch (e) {
    return fail(spec.name, e, false);
  }
  mark(`options parsed (yargs code cache: ${yargsCodeCache()})`);
  const out = new Output();
  const objects: BpfObject[] = [];
  const stopHandlers: (() => void)[] = [];
  const exitHandlers: (() => Promise<void>)[] = [];
  const timers: NodeJS.Timeout[] = [];
  const lostSeen = new Map<BpfObject, number>();
  // the lost-event counter of each object: handed over by a skeleton, or recipes.h's by name
  const lostMaps = new Map<BpfObject, BpfMap | null>();
  const lostMap = (obj: BpfObject): BpfMap | null => {
    if (!lostMaps.has(obj)) {
      let m: BpfMap | null = null;
      try {
        m = obj.map(RECIPES_LOST);
      } catch {
        /* an object without one */
      }
      lostMaps.set(obj, m);
    }
    return lostMaps.get(obj)!;
  };
  let stopping = false;
  const verbose = Boolean(args.verbose);

  const lostTotal = (): number => {
    let total = 0;
    for (const obj of objects) {
      try {
        total += lostMap(obj)?.sumU64(Buffer.alloc(4)) ?? 0;
      } catch {
        /* closed at stop */
      }
    }
    return total;
  };
  let metrics: ToolMetrics | undefined;

  const reportLost = (final: boolean) => {
    for (const obj of objects) {
      let total: number;
      try {
        const m = lostMap(obj);
        if (!m) continue;
        total = m.sumU64(Buffer.alloc(4));
      } catch {
        continue;
      }
      const seen = lostSeen.get(obj) ?? 0;
      if (total > seen) note(`${spec.name}: Lost ${total - seen} events`);
      lostSeen.set(obj, total);
      if (final && total > 0) note(`${spec.name}: Lost ${total} events in total (a larger --buffer-size keeps more)`);
    }
  };

  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    mark('stopping');
    for (const t of timers) clearInterval(t);
    metrics?.close();
    try {
      await Promise.all(objects.map((o) => o.detachConcurrently()));
      out.batch(() => {
        for (const o of objects) o.drainAll();
      });
      if (!out.closed) for (const fn of stopHandlers) out.batch(fn);
      if (!out.closed) reportLost(true);
      out.flush();
    } catch (e) {
      for (const o of objects) o.close();
      return fail(spec.name, e, verbose);
    }
    for (const o of objects) o.close();
    mark('closed');
    for (const fn of exitHandlers) {
      try {
        await fn();
      } catch (e) {
        return fail(spec.name, e, verbose);
      }
    }
    process.exit(code);
  };

  out.onClosed = () => setImmediate(() => void stop(0));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(0));
  process.on('uncaughtException', (e) => {
    for (const o of objects) o.close();
    fail(spec.name, e, verbose);
  });

  const ctx: ToolContext<A> = {
    args,
    out,
    clock: new Clock(),
    startMs: Date.now(),
    open(target: string | SkeletonClass<Skeleton<unknown>, unknown>, second: string | URL | RodataLayout, config: unknown = {}): never {
      preflight();
      mark('preflight done');
      const skelClass = typeof target === 'string' ? undefined : target;
      const path = typeof target === 'string' ? target : second instanceof URL ? fileURLToPath(second) : (second as string);
      const layout = skelClass ? skelClass.rodata : (second as RodataLayout);
      const skel = skelClass?.open(path, { verbose });
      const obj = skel ? skel.obj : BpfObject.open(path, { verbose });
      mark('object opened');
      objects.push(obj);
      if (!skel && args['buffer-size'] !== undefined && obj.programs.length) obj.setMaxEntries(RECIPES_RING, parseSize(args['buffer-size']));
      // inside a PID namespace, ids are printed and filtered as it sees them (recipes.h)
      const ns = pidNamespace();
      if (ns && procPidOf() !== process.pid) {
        note(`${spec.name}: /proc is not this PID namespace's (mount -t proc proc /proc, or unshare --mount-proc): names looked up there by PID may be another process's`);
      }
      const common = recipesConfig({ ...commonFilters(args), selfTgid: process.pid, ...(ns && { pidns: ns }) });
      const present = Object.fromEntries(Object.entries(common).filter(([k]) => k in layout));
      if (skel) {
        skel.setConfig({ ...present, ...(config as object) });
        return skel as never;
      }
      obj.setConfig(layout, { ...present, ...(config as Record<string, unknown>) });
      return obj as never;
    },
    loadAndAttach(target, opts = {}) {
      // a skeleton wraps its object (no instanceof: a tool and this library may load core twice, ESM and CommonJS)
      const isSkel = 'progs' in target;
      const obj = isSkel ? (target as Skeleton<never>).obj : (target as BpfObject);
      if (opts.lost) lostMaps.set(obj, opts.lost);
      else if (isSkel) lostMaps.set(obj, null); // a skeleton without a counter has none
      if (opts.ring && args['buffer-size'] !== undefined) obj.setMaxEntries(opts.ring, parseSize(args['buffer-size']));
      for (const s of obj.skipMissingTracepoints()) ctx.verbose(`skipping ${s.program}: ${s.reason}`);
      obj.load();
      mark('loaded');
      if (opts.attach !== false) {
        const attached = obj.attachAll();
        mark('attached');
        ctx.verbose(`attached ${attached.join(', ')}`);
      }
    },
    follow(a: BpfObject | BpfMap, b: string | RecordHandler, c?: RecordHandler) {
      let obj: BpfObject;
      let map: string | BpfMap;
      let onRecord: RecordHandler;
      if (typeof b === 'string') [obj, map, onRecord] = [a as BpfObject, b, c!];
      else {
        const ring = a as BpfMap;
        const owner = objects.find((o) => o.owns(ring));
        if (!owner) throw new RecipesError(`ring buffer ${ring.name} is not a map of an object this tool opened`);
        [obj, map, onRecord] = [owner, ring, b];
      }
      const rb = obj.ringBuffer(map, onRecord, { before: () => out.beginBatch(), after: () => out.endBatch() });
      rb.start();
      // deliver what arrived between attach and start
      rb.drain();
    },
    every(ms, fn) {
      timers.push(setInterval(() => out.batch(fn), ms));
    },
    ready(message) {
      mark('ready');
      note(message);
      if (args.duration !== undefined) {
        const sec = parseDuration(args.duration);
        timers.push(setTimeout(() => void stop(0), sec * 1000));
      }
      timers.push(setInterval(() => reportLost(false), 1000));
    },
    onStop(fn) {
      stopHandlers.push(fn);
    },
    beforeExit(fn) {
      exitHandlers.push(fn);
    },
    stop: (code?: number) => void stop(code),
    verbose(message) {
      if (verbose) note(`${spec.name}: ${message}`);
    },
  };

  try {
    if (args.duration !== undefined) parseDuration(args.duration);
    if (args['buffer-size'] !== undefined) parseSize(args['buffer-size']);
    if (args.metrics !== undefined) {
      // bound before anything is loaded: a port in use fails with nothing attached
      const at = parseMetricsAddress(args.metrics);
      const { ToolMetrics } = await import('@bpf-recipes/metrics');
      metrics = new ToolMetrics({ tool: spec.name, version: spec.version, lost: lostTotal });
      const bound = await metrics.listen(at.host, at.port).catch((e: Error) => {
        throw new RecipesError(e.message);
      });
      ctx.metrics = metrics;
      ctx.verbose(`metrics at http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/metrics`);
      mark('metrics listening');
    }
    await main(ctx);
  } catch (e) {
    for (const o of objects) o.close();
    return fail(spec.name, e, verbose);
  }
}

/** One line on stderr, then exit: 2 for usage errors, 1 for everything else. */
export function fail(tool: string, e: unknown, verbose: boolean): never {
  if (e instanceof RecipesError) {
    const hint = e instanceof UsageError ? ` (see ${tool} --help)` : '';
    note(`${tool}: ${e.message}${hint}`);
    const log = (e as { log?: string }).log;
    if (verbose && log) note(log);
    else if (log && !(e instanceof UsageError)) note(`${tool}: run with -v for libbpf's log`);
    process.exit(e.exitCode);
  }
  const err = e as Error;
  note(`${tool}: unexpected error: ${err?.message ?? String(e)}`);
  if (verbose && err?.stack) note(err.stack);
  process.exit(1);
}

/**
 * A tool's life: parse options (exit 2 on bad input) → preflight → open/config/load/attach →
 * "Tracing ..." on stderr → events → stop on Ctrl-C, SIGTERM, SIGHUP, --duration or EPIPE →
 * detach, final drain, summary, lost-event report → exit 0 (1 on runtime failure).
 */
import { writeSync } from 'node:fs';
import {
  RecipesError, UsageError,
  type BpfMap, type ConfigOf, type RecordHandler, type Skeleton, type SkeletonClass,
} from '@bpf-recipes/core';
import { Clock } from '@bpf-recipes/format';
import { helpText, parseCommandLine, yargsCodeCache, type OptionSpec } from './args.js';
import type { Metrics, MetricsBy, MetricsRegistry } from '@bpf-recipes/metrics';
import { COMMON_OPTIONS, isLoopback, parseDuration, parseMetricsAddress, type CommonArgs, type CommonOption } from './options.js';
import { Session, parseMetricsBy, sessionOptionsFromArgs } from '@bpf-recipes/runtime';
import { Output, note } from './output.js';
import { splitPositionals } from './positionals.js';

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
  /** the command takes words that are not options (named in `usage`): taken out before the parser, in ctx.positionals */
  positionals?: boolean;
}

/** Every option of a tool, common ones included, in the order --help shows them. */
export function allOptions(spec: ToolSpec): Record<string, OptionSpec> {
  const own: Record<string, OptionSpec> = {};
  for (const [k, o] of Object.entries(spec.options)) own[k] = { group: 'Options:', ...o };
  // a tool's own short letter wins over a common option's (profile's -c is --period, as perf's):
  // the common option keeps its long name only
  const letters = new Set(Object.values(spec.options).map((o) => o.alias));
  for (const c of spec.common) {
    const { alias, ...rest } = COMMON_OPTIONS[c];
    own[c] = { ...rest, ...(alias !== undefined && !letters.has(alias) ? { alias } : {}), group: 'Common options:' };
  }
  // every tool serves metrics (its own series where it registers collectors)
  for (const c of ['metrics', 'metrics-allow-remote', 'metrics-by', 'metrics-top'] as const) if (!spec.common.includes(c)) own[c] = { ...COMMON_OPTIONS[c], group: 'Common options:' };
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
  /** the words that are not options (only for a spec with `positionals`) */
  positionals: string[];
  out: Output;
  /** the objects this run opened; what the typed API (trace(), start()) is built on too */
  session: Session;
  clock: Clock;
  /** wall-clock ms at start */
  startMs: number;
  /**
   * Preflight, open the object through its generated skeleton, write the common filters and the
   * tool's typed config; returns the skeleton unloaded.
   */
  open<S extends Skeleton>(skeleton: SkeletonClass<S>, objectPath: string | URL, config?: ConfigOf<S>): S;
  /**
   * Skip missing tracepoints (noted under -v), load, attach every auto-attachable program. A
   * skeleton hands over its ring buffer (sized by --buffer-size) and lost-event counter (reported).
   */
  loadAndAttach(skel: Skeleton<never>, opts?: { attach?: boolean; ring?: BpfMap; lost?: BpfMap }): void;
  /** follow a ring buffer (a skeleton's map); output written during one drain goes out in one write */
  follow(ring: BpfMap, onRecord: RecordHandler): void;
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
   * With --metrics: where the tool registers its series (its src/metrics.ts, see
   * libs/metrics/README.md), already serving; undefined without --metrics.
   */
  metrics?: Metrics;
  /** --metrics-by comm|cgroup and --metrics-top N (only for METRICS_BY_TOOLS, only with --metrics) */
  metricsBy?: MetricsBy;
}

/** BPF_RECIPES_TIMING=1: startup marks (ms since the process started) on stderr, for benchmarks. */
const timing = process.env.BPF_RECIPES_TIMING === '1';
function mark(what: string): void {
  if (timing) note(`timing: ${what} ${performance.now().toFixed(1)} ms`);
}

export async function runTool<A>(spec: ToolSpec, main: (ctx: ToolContext<A>) => void | Promise<void>): Promise<void> {
  mark('modules loaded');
  let args: A & CommonArgs;
  let session: Session;
  let metricsBy: MetricsBy | undefined;
  let positionals: string[] = [];
  try {
    let argv = process.argv.slice(2);
    if (spec.positionals) ({ options: argv, positionals } = splitPositionals(spec, argv));
    args = parseArgs<A>(spec, argv);
    if (args.duration !== undefined) parseDuration(args.duration);
    if (args.metrics !== undefined) {
      const { host } = parseMetricsAddress(args.metrics);
      if (!isLoopback(host) && !args['metrics-allow-remote']) {
        throw new UsageError(`--metrics: ${host} is not a loopback address, so other machines could read the metrics: add --metrics-allow-remote to mean it`);
      }
    }
    metricsBy = parseMetricsBy(spec.name, args['metrics-by'], args['metrics-top']);
    if (metricsBy && args.metrics === undefined) throw new UsageError('--metrics-by: give --metrics ADDR too (the labels are on the served series)');
    session = new Session(sessionOptionsFromArgs(spec.name, args, note, mark));
  } catch (e) {
    return fail(spec.name, e, false);
  }
  mark(`options parsed (yargs code cache: ${yargsCodeCache()})`);
  const out = new Output();
  const stopHandlers: (() => void)[] = [];
  const exitHandlers: (() => Promise<void>)[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  const verbose = Boolean(args.verbose);
  let metrics: MetricsRegistry | undefined;

  const reportLost = (final: boolean) => {
    const n = session.lostSinceLastCall();
    if (n > 0) note(`${spec.name}: Lost ${n} events`);
    const total = final ? session.lost() : 0;
    if (total > 0) note(`${spec.name}: Lost ${total} events in total (a larger --buffer-size keeps more)`);
  };

  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    mark('stopping');
    for (const t of timers) clearInterval(t);
    metrics?.close();
    try {
      await session.detach((fn) => out.batch(fn));
      if (!out.closed) for (const fn of stopHandlers) out.batch(fn);
      if (!out.closed) reportLost(true);
      out.flush();
    } catch (e) {
      session.close();
      return fail(spec.name, e, verbose);
    }
    session.close();
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
    session.close();
    fail(spec.name, e, verbose);
  });
  const batch = { before: () => out.beginBatch(), after: () => out.endBatch() };

  const ctx: ToolContext<A> = {
    args,
    positionals,
    out,
    session,
    clock: new Clock(),
    startMs: Date.now(),
    open: (skeleton, objectPath, config) => session.open(skeleton, objectPath, config),
    loadAndAttach: (target, opts) => session.loadAndAttach(target, opts),
    follow: (ring, onRecord) => session.follow(ring, onRecord, batch),
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
    verbose: (message) => session.verbose(message),
  };

  try {
    if (args.metrics !== undefined) {
      // bound before anything is loaded: a port in use fails with nothing attached
      const at = parseMetricsAddress(args.metrics);
      metrics = new (await loadMetrics()).MetricsRegistry();
      ctx.metrics = metrics.addTool({ tool: spec.name, version: spec.version, lost: () => (session.isClosed ? 0 : session.lost()) });
      ctx.metricsBy = metricsBy;
      const bound = await metrics.listen(at.host, at.port).catch((e: Error) => {
        throw new RecipesError(e.message);
      });
      ctx.verbose(`metrics at http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/metrics`);
      mark('metrics listening');
    }
    await main(ctx);
  } catch (e) {
    session.close();
    return fail(spec.name, e, verbose);
  }
}

/**
 * @bpf-recipes/metrics (and prom-client) are an optional peer of every tool: `npx opensnoop` does
 * not install them (issue 11's size limit); the umbrella package and the .deb do. Loaded only here.
 */
export async function loadMetrics(): Promise<typeof import('@bpf-recipes/metrics')> {
  try {
    return await import('@bpf-recipes/metrics');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /@bpf-recipes\/metrics|prom-client/.test((e as Error).message)) {
      // exit 1: the command line is right, this installation lacks a package
      throw new RecipesError('--metrics needs the @bpf-recipes/metrics package: npm install -g @bpf-recipes/metrics (or use the bpf-recipes bundle)');
    }
    throw e;
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

/**
 * A tool's life: parse options (exit 2 on bad input) → preflight → open/config/load/attach →
 * "Tracing ..." on stderr → events → stop on Ctrl-C, SIGTERM, SIGHUP, --duration or EPIPE →
 * detach, final drain, summary, lost-event report → exit 0 (1 on runtime failure).
 */
import { openSync, writeSync } from 'node:fs';
import {
  RecipesError, UsageError,
  type BpfMap, type ConfigOf, type RecordHandler, type Skeleton, type SkeletonClass,
} from '@bpf-recipes/core';
import { Clock } from '@bpf-recipes/format';
import { helpText, parseCommandLine, yargsCodeCache, type OptionSpec } from './args.js';
import type { Metrics, MetricsBy, MetricsRegistry } from '@bpf-recipes/metrics';
import { COMMON_OPTIONS, EVERY_TOOL_OPTIONS, isLoopback, parseDuration, parseMetricsAddress, type CommonArgs, type CommonOption } from './options.js';
import { Output, note } from '@bpf-recipes/runtime';
import { Session, TracedCommand, parseMetricsBy, sessionOptionsFromArgs, signalNumber } from '@bpf-recipes/runtime';
import { dropAfterAttach } from './caps.js';
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
  /** its metrics count by comm or cgroup in the kernel: --metrics-by applies */
  metricsBy?: boolean;
}

/** Every option of a tool, common ones included, in the order --help shows them. */
export function allOptions(spec: ToolSpec): Record<string, OptionSpec> {
  const own: Record<string, OptionSpec> = {};
  for (const [k, o] of Object.entries(spec.options)) own[k] = { group: 'Options:', ...o };
  // a tool's own short letter wins over a common option's (profile's -c is --period, as perf's;
  // sslsnoop's -o is --no-openssl): the common option keeps its long name only
  const letters = new Set(Object.values(spec.options).map((o) => o.alias));
  const common = (c: CommonOption): OptionSpec => {
    const { alias, ...rest } = COMMON_OPTIONS[c];
    return { ...rest, ...(alias !== undefined && !letters.has(alias) ? { alias } : {}), group: 'Common options:' };
  };
  for (const c of spec.common) own[c] = common(c);
  // every tool serves metrics (its own series where it registers collectors), writes to -o FILE
  // (unless it has an -o of its own) and runs a command
  for (const c of EVERY_TOOL_OPTIONS) if (!spec.common.includes(c) && !own[c]) own[c] = common(c);
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
  /** --metrics-by comm|cgroup and --metrics-top N (only for a spec with metricsBy, only with --metrics) */
  metricsBy?: MetricsBy;
}

/**
 * BPF_RECIPES_TIMING=1: startup marks on stderr, for benchmarks: ms since the process started, and
 * the CPU ms (user + system, every thread) spent by then, which a busy machine moves less.
 */
const timing = process.env.BPF_RECIPES_TIMING === '1';
function mark(what: string): void {
  if (!timing) return;
  const cpu = process.cpuUsage();
  note(`timing: ${what} ${performance.now().toFixed(1)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms`);
}

export async function runTool<A>(spec: ToolSpec, main: (ctx: ToolContext<A>) => void | Promise<void>): Promise<void> {
  // Node's own start, up to the first line of the launcher (no CPU figure: the process's CPU clock is read only from here on)
  if (timing) note(`timing: node booted ${performance.nodeTiming.bootstrapComplete.toFixed(1)} ms`);
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
    metricsBy = parseMetricsBy(spec.name, args['metrics-by'], args['metrics-top'], undefined, { metricsBy: Boolean(spec.metricsBy) });
    if (metricsBy && args.metrics === undefined) throw new UsageError('--metrics-by: give --metrics ADDR too (the labels are on the served series)');
    if (args['web-config'] !== undefined && args.metrics === undefined) throw new UsageError('--web-config: give --metrics ADDR too (it secures the metrics endpoint)');
    if (args['keep-capabilities'] && args.metrics === undefined) throw new UsageError('--keep-capabilities: capabilities are dropped after attach only with --metrics (give --metrics ADDR, or leave this out)');
    // a tool whose own --user means something else (the stack tools' -U, user stacks only) has no
    // run-as option: its --user is never taken for one
    const common: CommonArgs = 'user' in spec.options ? { ...args, user: undefined } : args;
    session = new Session(sessionOptionsFromArgs(spec.name, common, note, mark));
  } catch (e) {
    return fail(spec.name, e, false);
  }
  mark(`options parsed (yargs code cache: ${yargsCodeCache()})`);
  let out: Output;
  try {
    out = new Output(ownsOutput(spec) && args.output !== undefined ? openOutput(args.output) : 1);
  } catch (e) {
    return fail(spec.name, e, false);
  }
  // `-- COMMAND`: started once every program is attached (ready()), held until its process is traced
  const command = session.options.command;
  let traced: TracedCommand | undefined;
  let signalsSeen = 0;
  const stopHandlers: (() => void)[] = [];
  const exitHandlers: (() => Promise<void>)[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  const verbose = Boolean(args.verbose);
  let metrics: MetricsRegistry | undefined;

  let skippedSeen = 0;
  const reportLost = (final: boolean) => {
    const n = session.lostSinceLastCall();
    if (n > 0) note(`${spec.name}: Lost ${n} events`);
    const total = final ? session.lost() : 0;
    if (total > 0) note(`${spec.name}: Lost ${total} events in total (a larger --buffer-size keeps more)`);
    const skipped = session.skippedRuns();
    if (skipped > skippedSeen) {
      note(`${spec.name}: the kernel skipped ${skipped - skippedSeen} runs of its programs (one already running on that CPU, under an interrupt): what they would have shown is missing`);
      skippedSeen = skipped;
    }
  };

  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    mark('stopping');
    traced?.abandon();
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
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (!traced?.released || stopping) return void stop(traced ? 128 + signalNumber(sig) : 0);
      // the first one goes to the command, which ends as it will; a second one detaches at once
      if (signalsSeen++ === 0) traced.forward(session, sig);
      else void stop(traced.exit?.status ?? 128 + signalNumber(sig));
    });
  }
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
      if (command && !traced) {
        try {
          traced = TracedCommand.start(command, spec.name);
        } catch (e) {
          session.close();
          fail(spec.name, e, verbose);
        }
        const run = traced;
        run
          .release(session)
          .then(() => run.ended(session))
          .then((exit) => stop(exit.status))
          .catch((e: unknown) => {
            if (stopping) return;
            run.abandon();
            session.close();
            fail(spec.name, e, verbose);
          });
      }
      // a long-running metrics endpoint keeps only what the tool still needs (docs/fleet.md): once
      // the command has started (held until release(), so it runs after the note), which may need
      // them (--user), and before the note that scripts wait for
      if (metrics && !args['keep-capabilities']) dropAfterAttach([spec.name], (line) => session.verbose(line));
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
      const m = await loadMetrics();
      metrics = new m.MetricsRegistry();
      ctx.metrics = metrics.addTool({ tool: spec.name, version: spec.version, lost: () => (session.isClosed ? 0 : session.lost()) });
      ctx.metricsBy = metricsBy;
      const url = await serveMetrics(m, metrics, at, { tool: spec.name, webConfig: args['web-config'], listenOption: 'metrics' });
      ctx.verbose(`metrics at ${url}`);
      mark('metrics listening');
    }
    await main(ctx);
  } catch (e) {
    session.close();
    return fail(spec.name, e, verbose);
  }
}

/** Does -o FILE belong to runTool (the tool declares no -o of its own, as the stack tools do)? */
function ownsOutput(spec: ToolSpec): boolean {
  return !('output' in spec.options);
}

/** -o FILE, created (or truncated) before anything is loaded. */
function openOutput(file: string): number {
  try {
    return openSync(file, 'w', 0o644);
  } catch (e) {
    throw new RecipesError(`-o: cannot write ${file}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`);
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

/**
 * The metrics endpoint of a tool (--metrics) or of the exporter (--listen): the web config read and
 * checked first (a bad one is a usage error, nothing bound), then the port bound (taken: a runtime
 * error), then, on an address other than loopback, one line saying what is protected and what is
 * not. Returns the URL served.
 */
export async function serveMetrics(
  m: typeof import('@bpf-recipes/metrics'),
  registry: MetricsRegistry,
  at: { host: string; port: number },
  o: { tool: string; webConfig?: string; listenOption: string },
): Promise<string> {
  let web: InstanceType<typeof m.WebConfigWatcher> | undefined;
  if (o.webConfig !== undefined) {
    try {
      web = new m.WebConfigWatcher(o.webConfig, (line) => note(`${o.tool}: ${line}`));
    } catch (e) {
      if (e instanceof m.WebConfigError) throw new UsageError(`--web-config: ${e.message}`);
      throw e;
    }
  }
  const bound = await registry.listen(at.host, at.port, web).catch((e: Error) => {
    throw new RecipesError(e.message.replace(/^--metrics: /, `--${o.listenOption}: `));
  });
  const hostPort = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  if (!isLoopback(at.host)) note(`${o.tool}: serving metrics to other machines at ${hostPort}: ${m.describeProtection(web?.settings)}`);
  return `${web?.settings.tls ? 'https' : 'http'}://${hostPort}/metrics`;
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

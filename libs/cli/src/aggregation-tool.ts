/**
 * The command of an aggregation tool, from its descriptor (its src/tool.ts): the runtime's
 * `AggregationTool` (setup, snapshot) plus what only the command has (the option table, how the
 * command line becomes the typed options, how a report prints, the readiness line, its --metrics
 * series). `runAggregationTool(tool)` is the whole of such a tool's main.ts: it owns -i/--interval
 * (one parser, a report every SEC seconds of what changed since the previous one, with
 * `interval_s` measured), the report at the stop and the readiness line's ", printing every Ns".
 */
import type { Metrics, MetricsBy } from '@bpf-recipes/metrics';
import { parseInterval, type AggregationTool, type CommonTraceOptions } from '@bpf-recipes/runtime';
import type { CommonArgs } from './options.js';
import { runTool, type ToolContext, type ToolSpec } from './tool.js';

/** A report's moment: its wall-clock ms, and with -i the seconds since the previous report (ms resolution). */
export interface ReportTime {
  now: number;
  interval_s?: number;
}

/** What a run of the command knows besides its arguments: -i's seconds (undefined: one report, at the stop). */
export interface AggregationRun {
  intervalS?: number;
}

/**
 * `A` the command line's own options, `O` the typed API's, `H` what setup() hands back, `S` a
 * snapshot, `P` what prepare() makes before anything is attached (an output file).
 */
export interface AggregationCommand<A, O extends CommonTraceOptions, H, S, P = undefined> extends AggregationTool<O, H, S> {
  /** the option table: the parser, --help and the man page (an `interval` option there is -i/--interval) */
  readonly spec: ToolSpec;
  /** an action instead of tracing (syscount -l): true when it ran, and the command ends with 0 */
  instead?(ctx: ToolContext<A>): boolean;
  /** the command line's own options as the typed API's (the common filters are the session's); UsageError on bad input */
  options(args: A & CommonArgs, run: AggregationRun, ctx: ToolContext<A>): O;
  /** what the command makes once the options are known good, before anything is attached (-o FILE created) */
  prepare?(args: A & CommonArgs, run: AggregationRun, ctx: ToolContext<A>): P;
  /** how a report prints (to ctx.out; --json lines or text): one is printed at each interval and at the stop */
  report(h: H, args: A & CommonArgs, run: AggregationRun, ctx: ToolContext<A>, prepared: P): (t: ReportTime) => void;
  /** the readiness line on stderr without its tail: "Tracing syscalls" (the runner adds ", printing every Ns... Hit Ctrl-C to end.") */
  ready(h: H, args: A & CommonArgs, ctx: ToolContext<A>): string;
  /** --metrics: its series on what setup() returned, and --metrics-by's choice (what the tool's metrics entry registers) */
  register?(m: Metrics, h: H, args: A & CommonArgs, by?: MetricsBy): void;
  /** anything else the command does once attached (timers of its own), before the readiness line */
  started?(h: H, ctx: ToolContext<A>): void;
  /** after the last report, at the stop (notes on what could not be done) */
  stopped?(h: H, ctx: ToolContext<A>): void;
}

/** Run an aggregation tool's command: parse, set up, report at each interval and at the stop. */
export function runAggregationTool<A, O extends CommonTraceOptions, H, S, P>(tool: AggregationCommand<A, O, H, S, P>): Promise<void> {
  return runTool<A>(tool.spec, (ctx) => {
    const a = ctx.args;
    if (tool.instead?.(ctx)) return ctx.stop(0);
    const interval = tool.spec.options.interval ? (a as { interval?: string }).interval : undefined;
    const run: AggregationRun = { intervalS: interval === undefined ? undefined : parseInterval(interval) };
    const options = tool.options(a, run, ctx);
    const prepared = tool.prepare?.(a, run, ctx) as P;
    const h = tool.setup(ctx.session, options, { metrics: Boolean(ctx.metrics), by: ctx.metricsBy });
    if (ctx.metrics) tool.register?.(ctx.metrics, h, a, ctx.metricsBy);
    const report = tool.report(h, a, run, ctx, prepared);
    const { intervalS } = run;
    let last = Date.now();
    const print = () => {
      const now = Date.now();
      report(intervalS !== undefined ? { now, interval_s: Math.round(now - last) / 1000 } : { now });
      last = now;
    };
    // -i 0 is "only at the end"
    if (intervalS) ctx.every(intervalS * 1000, print);
    ctx.onStop(() => {
      print();
      tool.stopped?.(h, ctx);
    });
    tool.started?.(h, ctx);
    ctx.ready(`${tool.ready(h, a, ctx)}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
  });
}


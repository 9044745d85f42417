/**
 * The command of an event tool, from its descriptor (its src/tool.ts): the runtime's `EventTool`
 * (setup, ring buffer, record) plus what only the command has (the option table, how the
 * command line becomes the typed options, the table, the readiness line, its --metrics series).
 * `runEventTool(tool)` is the whole of such a tool's main.ts.
 */
import type { Clock } from '@bpf-recipes/format';
import type { Metrics, MetricsBy } from '@bpf-recipes/metrics';
import type { CommonTraceOptions, EventTool } from '@bpf-recipes/runtime';
import type { CommonArgs } from './options.js';
import { runTool, type ToolContext, type ToolSpec } from './tool.js';

/** How the command prints without --json: a header line (if any) and the line of one event. */
export interface TextOutput {
  header?: string;
  line(b: Buffer, off: number): string;
}

export interface EventCommand<A, O extends CommonTraceOptions, H, V extends readonly unknown[], R> extends EventTool<O, H, V, R, Clock> {
  /** the option table: the parser, --help and the man page */
  readonly spec: ToolSpec;
  /** the command line's own options as the typed API's (the common filters are the session's) */
  options(args: A & CommonArgs): O;
  /** the lines without --json */
  text(h: H, args: A & CommonArgs, ctx: ToolContext<A>): TextOutput;
  /** the readiness line on stderr ("Tracing ...") */
  ready(h: H, args: A & CommonArgs): string;
  /** --metrics: its series on what setup() returned, and --metrics-by's choice (what the tool's metrics entry registers) */
  register?(m: Metrics, h: H, by?: MetricsBy): void;
  /** anything else the command does once attached (notes, a summary at stop), before the readiness line */
  started?(h: H, ctx: ToolContext<A>): void;
  /**
   * A mode without events (biosnoop --hist): what the kernel counted, printed once at stop, and
   * the readiness line; undefined (the default) for the events.
   */
  summary?(h: H, args: A & CommonArgs, ctx: ToolContext<A>): { ready: string; stop(): void } | undefined;
}

/** Run an event tool's command: parse, set up, print each event (its record's --json line, or its text) or, in its summary mode, what it counted at stop. */
export function runEventTool<A, O extends CommonTraceOptions, H, V extends readonly unknown[], R>(tool: EventCommand<A, O, H, V, R>): Promise<void> {
  return runTool<A>(tool.spec, (ctx) => {
    const a = ctx.args;
    const h = tool.setup(ctx.session, tool.options(a), { metrics: Boolean(ctx.metrics), by: ctx.metricsBy });
    if (ctx.metrics) tool.register?.(ctx.metrics, h, ctx.metricsBy);
    const summary = tool.summary?.(h, a, ctx);
    if (summary) {
      ctx.onStop(() => summary.stop());
      tool.started?.(h, ctx);
      ctx.ready(summary.ready);
      return;
    }
    let line: (b: Buffer, off: number) => string;
    if (a.json) {
      // the line from the same values as the typed API's record (a serializer compiled once)
      const values = tool.values(h, ctx.clock);
      const json = tool.record.json;
      line = (b, off) => json(values(b, off));
    } else {
      const text = tool.text(h, a, ctx);
      if (text.header !== undefined) ctx.out.line(text.header);
      line = text.line;
    }
    const out = ctx.out;
    ctx.follow(tool.ring(h), (b, off) => out.line(line(b, off)));
    tool.started?.(h, ctx);
    ctx.ready(tool.ready(h, a));
  });
}

/**
 * An aggregation tool declared once: the API side of its descriptor (its src/tool.ts). Such a tool
 * counts in the kernel's maps and prints what they hold now and then (syscount, syslatency and the
 * stack tools). The same object gives the typed API (`startTool()` here: start() and snapshot())
 * and, with the command's parts added (libs/cli's `AggregationCommand`), the command, its reports
 * at -i/--interval and at the stop, and its --json lines.
 */
import type { Counting, CommonTraceOptions, Session } from './session.js';
import { sessionOptions } from './session.js';
import { aggregation, type Aggregation } from './stream.js';

/**
 * What an aggregation tool is, for its typed API and its command alike.
 * `O` its typed options, `H` what setup() hands back (the skeleton and the readers of its maps),
 * `S` a snapshot: what the kernel counted since setup, as the typed API's object.
 */
export interface AggregationTool<O extends CommonTraceOptions, H, S> {
  readonly name: string;
  /** check the options, open the object on the session, set its typed config from them, load and attach */
  setup(session: Session, options: O, counting?: Counting): H;
  /** the totals since setup (`nowMs`: the snapshot's time), read from the maps */
  snapshot(h: H, nowMs: number): S;
}

/**
 * The typed API of an aggregation tool: `const a = startTool(tool, options); ... a.snapshot()`.
 * Throws PreflightError/UsageError/LoadError/AttachError with nothing attached; close() detaches.
 * `log` receives -v's lines when `verbose` is set.
 */
export function startTool<O extends CommonTraceOptions, H, S>(tool: AggregationTool<O, H, S>, options: O, log?: (message: string) => void): Aggregation<S> {
  return aggregation<S>(sessionOptions(tool.name, options, log), (session) => {
    const h = tool.setup(session, options);
    return () => tool.snapshot(h, Date.now());
  });
}

/**
 * The option table's `-i/--interval SEC` of an aggregation tool (libs/cli's runner reads it:
 * parsed by `parseInterval`, a report every SEC seconds of what changed since the previous one).
 * `what`: what a report holds ("counts", "the calls"); `end`: how the help says when it prints without it.
 */
export const intervalOption = (what: string, end = 'default: only at the end') =>
  ({ alias: 'i', type: 'string', arg: 'SEC', describe: `print every SEC seconds (${what} since the last print); ${end}` }) as const;

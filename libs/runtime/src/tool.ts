/**
 * An event tool declared once: the API side of its descriptor (its src/tool.ts). The same object
 * gives the typed API (`traceTool()` here) and, with the command's parts added (libs/cli's
 * `EventCommand`), the command and its `--json` lines: the record is made from one list of values.
 */
import type { BpfMap, Skeleton } from '@bpf-recipes/core';
import type { Counting, CommonTraceOptions, Session } from './session.js';
import { traceEvents, type EventStream } from './stream.js';
import { attachUprobes, findUprobeFiles, type UprobeFile, type UprobeFunction, type UprobePlan } from './uprobes.js';

/** The fields every event record starts with: when, and which task (comm_b64 only when the name is not UTF-8). */
export interface TaskRecord {
  /** ISO 8601, ms (at the call's return, for a tool that times calls) */
  time: string;
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  comm_b64?: string;
}

/** A compiled record format (libs/format's `recordFormat()`): the typed API's object and the `--json` line from the same values. */
export interface RecordOf<V extends readonly unknown[], R> {
  record(values: V): R;
  json(values: V): string;
}

/**
 * What an event tool is, for its typed API and its command alike.
 * `O` its typed options, `H` what setup() hands back (the skeleton, and what else reading needs),
 * `V` one event's values in the record's order, `R` the record, `C` the clock (libs/format's Clock).
 */
export interface EventTool<O extends CommonTraceOptions, H, V extends readonly unknown[], R, C> {
  readonly name: string;
  /** open the object on the session, set its typed config from the options, load and attach */
  setup(session: Session, options: O, counting?: Counting): H;
  /** the ring buffer its events wait in */
  ring(h: H): BpfMap;
  /** the record's fields, compiled once (recordFormat) */
  readonly record: RecordOf<V, R>;
  /** per event: its values in the record's order, from the ring buffer's bytes */
  values(h: H, clock: C): (b: Buffer, off: number) => V;
}

/**
 * The typed API of an event tool: `for await (const r of traceTool(tool, options, new Clock()))`.
 * Throws PreflightError/UsageError/LoadError/AttachError with nothing attached; `break` or close() detaches.
 */
export function traceTool<O extends CommonTraceOptions, H, V extends readonly unknown[], R, C>(
  tool: EventTool<O, H, V, R, C>,
  options: O,
  clock: C,
): EventStream<R> {
  return traceEvents(tool.name, options, (session) => {
    const h = tool.setup(session, options);
    const values = tool.values(h, clock);
    const record = tool.record.record;
    return { ring: tool.ring(h), record: (b, off) => record(values(b, off)) };
  });
}

/**
 * A uprobe tool's set-up on a session: the plan's files first (a usage error or a missing library
 * leaves nothing opened), then the object `open()` makes on the session, loaded, then each file's
 * functions (`funcs(skel, library)`) attached. `none(files)` is the PreflightError's message when
 * not one function could be probed. Returns the skeleton and the number of calls attached.
 */
export function setupUprobes<S extends Skeleton<never>>(
  session: Session,
  plan: Omit<UprobePlan, 'pids' | 'command'>,
  open: () => S,
  funcs: (skel: S, library: string) => readonly UprobeFunction[],
  none: (files: readonly UprobeFile[]) => string,
): { skel: S; attached: number } {
  const verbose = (m: string) => session.verbose(m);
  const files = findUprobeFiles({ ...plan, pids: session.options.filters?.pids, command: session.options.command?.argv[0] }, verbose);
  const skel = open();
  session.loadAndAttach(skel, { attach: false });
  const attached = attachUprobes(skel.obj, files, (library) => funcs(skel, library), { verbose, none: none(files) });
  return { skel, attached: attached.length };
}

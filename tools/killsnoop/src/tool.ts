/**
 * killsnoop, declared once: its option table, how the options become the object's config, its
 * record (the typed API's object and the --json line, from one list of values), its table and
 * sentences, and its Prometheus series. The command (main.ts: runEventTool), trace(), the
 * exporter's entry, --help and the man page all come from here. The kernel side is
 * bpf/killsnoop.bpf.c; Event, KsSource and the skeleton are generated from its BTF and header.
 */
import { readFileSync } from 'node:fs';
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { packageVersion, parseIntArg, parseMetricsBy, traceTool, type CommonTraceOptions, type EventStream, type Session, type TaskRecord } from '@bpf-recipes/runtime';
import { UsageError, decodeText } from '@bpf-recipes/core';
import { Clock, Columns, clockTime, errnoName, isoTime, recordFormat, signalName, signalNumber, tableText } from '@bpf-recipes/format';
import type { Metrics, MetricsBy, ToolMetrics } from '@bpf-recipes/metrics';
import { codeName, generateResult, sourceName } from './codes.js';
import { KillsnoopSkel, KsSource, SIG_METRIC_KEY_OFFSETS, decodeEvent, decodeSigMetricKey, type Event } from './generated/killsnoop.js';
import { targetOf } from './target.js';

export const spec: ToolSpec = {
  name: 'killsnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace signals sent by kill(2) and its relatives — who sent which signal to whom, and the result; with -a every generated signal, the kernel\'s too.',
  examples: [
    ['killsnoop', 'kill, tkill, tgkill, rt_(tg)sigqueueinfo and pidfd_send_signal, system-wide'],
    ['killsnoop -x', 'only failed sends'],
    ['killsnoop -s TERM,KILL,RTMIN+3', 'only these signals'],
    ['killsnoop --tpid 1234', 'only signals sent to PID 1234'],
    ['killsnoop -a', 'every generated signal, SIGSEGV and SIGCHLD from the kernel included, with the si_code'],
    ['killsnoop --sentence', 'one sentence per signal'],
  ],
  options: {
    'all-signals': { alias: 'a', type: 'boolean', describe: 'every generated signal (signal:signal_generate), kernel-originated ones too' },
    failed: { alias: 'x', type: 'boolean', describe: 'only failed sends (with -a: signals not delivered)' },
    tpid: { type: 'string', arg: 'PID', describe: 'only signals sent to this PID (or thread)' },
    signal: { alias: 's', type: 'string', arg: 'SIG[,SIG...]', describe: 'only these signals: names or numbers, RT included (TERM,9,RTMIN+3)' },
    sentence: { type: 'boolean', describe: 'one sentence per signal: "killall (157967) sent signal 15 (SIGTERM) to PID 157966 (sleep)"' },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME of the return, sender PID and COMM, SIG, target TPID (a thread for tkill/tgkill; <= 0 for a process ' +
    'group, which TCOMM then names; "?" for a pidfd whose process is unknown) and TCOMM, RESULT (0 or -errno; with -a the delivery result). TCOMM comes from the kernel when a signal was ' +
    'generated, else from /proc while the target still exists ("?" when it does not). -p/-u/-n filter the sender.',
};

export interface KillsnoopArgs {
  'all-signals'?: boolean;
  failed?: boolean;
  tpid?: string;
  signal?: string;
  sentence?: boolean;
}

/** The typed API's options (`--all-signals`, `--failed`, `--tpid`, `--signal` and the common filters). */
export interface KillsnoopOptions extends CommonTraceOptions {
  /** every generated signal, the kernel's too (signal:signal_generate) (`-a`) */
  allSignals?: boolean;
  /** only failed sends; with allSignals, signals not delivered (`-x`) */
  failed?: boolean;
  /** only signals sent to this PID or thread (`--tpid`) */
  tpid?: number;
  /** only these signals: names or numbers, RT included: ['TERM', 9, 'RTMIN+3'] (`-s`) */
  signal?: (string | number)[];
}

/** One signal, as `killsnoop --json` prints it (comm_b64/tcomm_b64 only when not UTF-8). */
export interface KillsnoopRecord extends TaskRecord {
  /** the sender (with allSignals: the task running when the signal was generated) */
  pid: number;
  sig: number;
  sig_name: string;
  /** the target as aimed at: a pid or tid, <= 0 for process groups, null when unknown */
  tpid: number | null;
  /** tgkill and rt_tgsigqueueinfo: the thread group */
  tgid?: number;
  tcomm: string;
  tcomm_b64?: string;
  /** the syscall's result (0 or -errno); with allSignals the delivery result (delivered, ignored, ...) */
  result: number | string;
  /** the errno's name of a failed syscall */
  errno?: string;
  /** kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal; signal_generate with allSignals */
  syscall: string;
  /** pidfd_send_signal: the descriptor */
  pidfd?: number;
  /** allSignals: the si_code and its name */
  code?: number;
  code_name?: string;
}

/** A process's comm from /proc (bytes kept, as the kernel's comm), undefined when it is gone. */
export function procComm(pid: number): string | undefined {
  try {
    return decodeText(readFileSync(`/proc/${pid}/comm`)).replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** The record's fields, in order: toRecord() and `killsnoop --json` are both made from them (undefined leaves an optional one out). */
type Values = [
  time: string, pid: number, tid: number, uid: number, comm: string, sig: number, sig_name: string, tpid: number | null, tgid: number | undefined,
  tcomm: string, result: number | string, errno: string | undefined, syscall: string, pidfd: number | undefined, code: number | undefined, code_name: string | undefined,
];
const RECORD = recordFormat<Values, KillsnoopRecord>([
  ['time', 'plain'], ['pid', 'num'], ['tid', 'num'], ['uid', 'num'], ['comm', 'text'], ['sig', 'num'], ['sig_name', 'plain'], ['tpid', 'num'], ['tgid', 'json'],
  ['tcomm', 'text'], ['result', 'json'], ['errno', 'json'], ['syscall', 'plain'], ['pidfd', 'json'], ['code', 'json'], ['code_name', 'json'],
]);

function recordValues(e: Event, clock: Clock): Values {
  const gen = e.source === KsSource.KS_GENERATE;
  const t = targetOf(e, procComm);
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.tid, e.uid, e.comm, e.sig, signalName(e.sig), t.tpid,
    e.source === KsSource.KS_TGKILL || e.source === KsSource.KS_RT_TGSIGQUEUEINFO ? e.tpid : undefined,
    t.tcomm, gen ? generateResult(e.ret) : e.ret, !gen && e.ret < 0 ? errnoName(-e.ret) : undefined, sourceName(e.source),
    e.source === KsSource.KS_PIDFD_SEND_SIGNAL ? e.pidfd : undefined, gen ? e.code : undefined, gen ? codeName(e.sig, e.code) : undefined,
  ];
}

/** One signal as the typed API yields it (the object of `killsnoop --json`'s line). */
export const toRecord = (e: Event, clock: Clock): KillsnoopRecord => RECORD.record(recordValues(e, clock));

/** -s: signals → the kernel's mask of 1..63 and the flag for 64 (UsageError on an unknown one). */
export function signalFilter(list: readonly (string | number)[] | undefined): { mask: bigint; sig64: boolean } {
  let mask = 0n;
  let sig64 = false;
  if (list === undefined) return { mask, sig64 };
  for (const s of list.map((x) => String(x).trim()).filter(Boolean)) {
    const n = signalNumber(s);
    if (n === undefined || n === 0) throw new UsageError(`--signal: unknown signal '${s}' (names like TERM or SIGRTMIN+3, or numbers 1-64)`);
    if (n === 64) sig64 = true;
    else mask |= 1n << BigInt(n);
  }
  if (mask === 0n && !sig64) throw new UsageError('--signal: give at least one signal');
  return { mask, sig64 };
}

/** --tpid PID → the number (UsageError unless 1..4194304). */
export const parseTpid = (v: unknown): number => parseIntArg('tpid', String(v), 'a process ID', 1, 4194304);

export interface KillsnoopMetricsOptions {
  /** every generated signal, the kernel's too */
  'all-signals'?: boolean;
  /** only failed sends (with all-signals: signals not delivered) */
  failed?: boolean;
  /** only these signals, comma-separated (TERM,9,RTMIN+3) */
  signal?: string;
  /** only signals sent to this PID */
  tpid?: string;
  /** --metrics-by: comm or cgroup (the sender's) */
  metricsBy?: string;
  /** --metrics-top: how many comms or cgroups keep their label (default 20) */
  metricsTop?: number;
}

/** What register() reads: the object, and --metrics-by's choice. */
export interface KillsnoopMaps {
  skel: KillsnoopSkel;
  by?: MetricsBy;
}

/** the result label: ok or the errno's name for a syscall; the delivery result for a generated signal */
export const resultLabel = (ret: number, generated: boolean): string => (generated ? generateResult(ret) : ret >= 0 ? 'ok' : errnoName(-ret));

export function register(m: Metrics, h: KillsnoopMaps): void {
  const map = h.skel.maps.sig_metrics;
  const folder = h.by && m.byFolder(h.by);
  const help = 'signals sent (kill(2) and relatives; with -a every generated signal), by signal and result (killsnoop\'s filters applied)';
  m.counter('signals_total', folder ? `${help}, and the sender's ${folder.o.by} (the top ${folder.o.top}, the rest "other")` : help, () => {
    folder?.scrape();
    const rows = new Map<string, { by: string; labels: { signal: string; result: string }; values: number[] }>();
    for (const k of map.keys()) {
      const key = decodeSigMetricKey(k, 0);
      const labels = { signal: signalName(key.sig), result: resultLabel(key.ret, key.generated !== 0) };
      const by = folder ? folder.label(k, SIG_METRIC_KEY_OFFSETS.by) : '';
      const id = `${labels.signal}\0${labels.result}\0${by}`;
      const s = rows.get(id) ?? { by, labels, values: [0] };
      s.values[0] += map.sumU64(k);
      rows.set(id, s);
    }
    return (folder ? folder.fold([...rows.values()]) : [...rows.values()]).map((r) => ({ labels: r.labels, value: r.values[0] }));
  });
}

export const tool: EventCommand<KillsnoopArgs, KillsnoopOptions, KillsnoopSkel, Values, KillsnoopRecord> = {
  name: 'killsnoop',
  spec,
  options: (a) => ({
    allSignals: a['all-signals'],
    failed: a.failed,
    tpid: a.tpid === undefined ? undefined : parseTpid(a.tpid),
    signal: a.signal?.split(','),
  }),
  /** `counting.metrics`: count in sig_metrics too (--metrics); `counting.events: false`: send no event (the exporter) */
  setup(session, o, counting = {}) {
    const { mask, sig64 } = signalFilter(o.signal);
    const tpid = o.tpid === undefined ? 0 : parseTpid(o.tpid);
    const all = Boolean(o.allSignals);
    const skel = session.open(KillsnoopSkel, new URL('../bpf/killsnoop.bpf.o', import.meta.url), {
      cfg_all: all,
      cfg_failed: Boolean(o.failed),
      cfg_tpid: tpid,
      cfg_sig_mask: mask,
      cfg_sig_64: sig64,
    }, counting);
    // -a: signal_generate alone; else the syscalls, with signal_generate noting their targets
    if (all) for (const p of Object.values(skel.progs)) if (p !== skel.progs.killsnoop_generate) skel.obj.setAutoload(p.name, false);
    // without --metrics the per-CPU counters are never touched: one entry instead of 4096 allocated at every start
    if (!counting.metrics) skel.obj.setMaxEntries(skel.maps.sig_metrics, 1);
    session.loadAndAttach(skel);
    return skel;
  },
  ring: (skel) => skel.maps.events,
  record: RECORD,
  values: (_skel, clock) => (b, off) => recordValues(decodeEvent(b, off), clock),
  text(_skel, a: KillsnoopArgs & CommonArgs, ctx) {
    const all = Boolean(a['all-signals']);
    const generated = (e: Event) => e.source === KsSource.KS_GENERATE;
    const cols = new Columns([
      { name: 'TIME', width: 12 },
      { name: 'PID', width: 7, align: 'right' },
      { name: 'COMM', width: 16 },
      { name: 'SIG', width: 12 },
      { name: 'TPID', width: 7, align: 'right' },
      { name: 'TCOMM', width: 16 },
      ...(all ? [{ name: 'CODE', width: 12 }] : []),
      { name: 'RESULT', width: 0 },
    ]);
    const line = (e: Event): string => {
      const t = targetOf(e, procComm);
      if (a.sentence) {
        const what = `${tableText(e.comm)} (${e.pid}) sent signal ${e.sig} (${signalName(e.sig)}) to ${tableText(t.phrase)}`;
        if (generated(e)) return `${what}: ${codeName(e.sig, e.code)}, ${generateResult(e.ret)}`;
        return e.ret < 0 ? `${what}: failed with ${errnoName(-e.ret)}` : what;
      }
      const result = generated(e) ? generateResult(e.ret) : String(e.ret);
      return cols.row([clockTime(ctx.clock.wallMs(e.ts_ns)), e.pid, tableText(e.comm), signalName(e.sig), t.tpid ?? '?', tableText(t.tcomm), ...(all ? [codeName(e.sig, e.code)] : []), result]);
    };
    return { header: a.sentence ? undefined : cols.header(), line: (b, off) => line(decodeEvent(b, off)) };
  },
  ready: (_skel, a) => (a['all-signals'] ? 'Tracing every generated signal... Hit Ctrl-C to end.' : 'Tracing signals sent by kill(2) and relatives... Hit Ctrl-C to end.'),
  register: (m, skel, by) => register(m, { skel, by }),
};

/** The exporter's typed entry (`@bpf-recipes/killsnoop/metrics`): counting only, no event sent (cfg_events off). */
export const metrics: ToolMetrics<Session, KillsnoopMetricsOptions, KillsnoopMaps> = {
  options: { 'all-signals': 'boolean', failed: 'boolean', signal: 'string', tpid: 'string', metricsBy: 'string', metricsTop: 'number' },
  open(session, o) {
    const by = parseMetricsBy('killsnoop', o.metricsBy, o.metricsTop, { by: 'killsnoop.metricsBy', top: 'killsnoop.metricsTop' });
    // its options are named as the command's
    const skel = tool.setup(session, tool.options(o), { metrics: true, events: false, by });
    return { skel, by };
  },
  register,
};

/**
 * Trace signals as they are sent: `for await (const s of trace({ signal: ['TERM'] }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: KillsnoopOptions = {}): EventStream<KillsnoopRecord> => traceTool(tool, options, new Clock());

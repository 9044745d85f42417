/**
 * biosnoop, declared once: its option table, how the options become the object's config, its
 * record (the typed API's object and the --json line, from one list of values), its table, its
 * --hist histograms (start()) and its Prometheus series. The command (main.ts: runEventTool),
 * trace(), start(), the exporter's entry, --help and the man page all come from here. The kernel
 * side is bpf/biosnoop.bpf.c (BTF tracepoints of the block layer); the skeleton, Event, the flag
 * bits, the pattern values and BIOSNOOP_HIST_SLOTS are generated from its BTF and header.
 */
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { aggregation, pidNamespace, packageVersion, parseMinLatency, sessionOptions, traceTool, type Aggregation, type CommonTraceOptions, type EventStream, type Session } from '@bpf-recipes/runtime';
import { PreflightError, rawTracepointExists } from '@bpf-recipes/core';
import { Clock, Columns, clockTime, isoTime, log2Hist, recordFormat, tableText, usFromNs } from '@bpf-recipes/format';
import type { Metrics, ToolMetrics } from '@bpf-recipes/metrics';
import { BIOSNOOP_HIST_SLOTS, BiosnoopSkel, decodeEvent, decodeHistKey, decodeIoMetric, decodeIoMetricKey, type Event } from './generated/biosnoop.js';
import { diskDev, diskName, patternLetter, rwbs } from './disks.js';

export const spec: ToolSpec = {
  name: 'biosnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace block I/O: every request with the process that issued it, the disk, offset, size, queue time and device latency — from tracepoints only.',
  examples: [
    ['biosnoop', 'every block I/O request'],
    ['biosnoop -Q', 'with the time spent queued in the I/O scheduler'],
    ['biosnoop -P', 'with the access pattern: sequential (S) or random (R)'],
    ['biosnoop --disk vda --min-latency 10', 'disk vda only, requests slower than 10 ms'],
    ['biosnoop -p 1234', 'requests submitted by PID 1234 (direct I/O, or page-cache reads it caused)'],
    ['biosnoop --hist -d 10', 'a log2 latency histogram per disk, after 10 seconds'],
  ],
  options: {
    queued: { alias: 'Q', type: 'boolean', describe: 'add QUE(ms): time from insertion into the I/O scheduler to issue' },
    pattern: { alias: 'P', type: 'boolean', describe: 'add P: S if a request starts where the disk\'s previous completed one ended (sequential), R if not, ? for the first' },
    disk: { type: 'string', arg: 'NAME', describe: 'only this disk (vda, nvme0n1; filtered in the kernel)' },
    'min-latency': { type: 'string', arg: 'MS', describe: 'only requests whose device latency is at least MS milliseconds' },
    hist: { type: 'boolean', describe: 'instead of events, a log2 histogram of device latency per disk at exit (aggregated in the kernel)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME(ms) since the start, COMM and PID of the submitter (a kernel thread for writeback), DISK, T (blktrace ' +
    'letters: R read, W write, F flush, D discard; S sync, M metadata, A readahead, F after the op: FUA), OFFSET and LEN in ' +
    'bytes, LAT(ms) from issue to completion. Process filters apply when a request is submitted, in its submitter\'s context.',
};

/** The command line's own options, as parsed. */
export interface BiosnoopArgs {
  queued?: boolean;
  pattern?: boolean;
  disk?: string;
  'min-latency'?: string;
  hist?: boolean;
}

/** The typed API's options (`-P`, `--disk`, `--min-latency` and the common filters; start() is `--hist`). */
export interface BiosnoopOptions extends CommonTraceOptions {
  /** add `pattern`: S sequential, R random, ? first (`-P`; not with hist) */
  pattern?: boolean;
  /** only this disk: vda, nvme0n1 (`--disk`) */
  disk?: string;
  /** only requests whose device latency is at least this many milliseconds (`--min-latency`) */
  minLatency?: number | string;
}

/** One block I/O request, as `biosnoop --json` prints it (comm_b64 only when not UTF-8). */
export interface BiosnoopRecord {
  /** ISO 8601, ms: the completion */
  time: string;
  /** the submitter (a kernel thread for writeback) */
  pid: number;
  comm: string;
  comm_b64?: string;
  disk: string;
  /** blktrace letters: R read, W write, F flush, D discard; S sync, M metadata, A readahead, F after the op: FUA */
  rwbs: string;
  /** bytes */
  offset: number;
  len: number;
  /** time queued in the I/O scheduler, µs (to 0.01; 0 when it went straight to the driver) */
  queue_us: number;
  /** device latency, issue to completion, µs (to 0.01) */
  latency_us: number;
  sector: number;
  /** MAJOR:MINOR */
  dev: string;
  /** the completion's blk_status_t (0: ok) */
  error: number;
  /** with pattern */
  pattern?: 'S' | 'R' | '?';
}

/** `biosnoop --hist --json`: per disk, requests by log2 slot of µs of device latency. */
export interface BiosnoopSnapshot {
  /** ISO 8601, ms */
  time: string;
  /** BIOSNOOP_HIST_SLOTS slots: slot 0 under 1 µs, slot k [2^(k-1), 2^k) µs, the last one also everything longer */
  latency_hist_us: Record<string, number[]>;
}

export const queueNs = (e: Event) => (e.insert_ns && e.issue_ns >= e.insert_ns ? e.issue_ns - e.insert_ns : 0);
export const latencyNs = (e: Event) => e.ts_ns - e.issue_ns;

/** The record's fields, in order: toRecord() and `biosnoop --json` are both made from them. */
type Values = [
  time: string, pid: number, comm: string, disk: string, rwbs: string, offset: number, len: number, queue_us: number, latency_us: number,
  sector: number, dev: string, error: number, pattern: BiosnoopRecord['pattern'],
];
const RECORD = recordFormat<Values, BiosnoopRecord>([
  ['time', 'plain'], ['pid', 'num'], ['comm', 'text'], ['disk', 'str'], ['rwbs', 'plain'], ['offset', 'num'], ['len', 'num'], ['queue_us', 'num'], ['latency_us', 'num'],
  ['sector', 'num'], ['dev', 'plain'], ['error', 'num'], ['pattern', 'json'],
]);

/** A request's values in RECORD's order (`pattern` only with -P). */
function recordValues(e: Event, clock: Clock, pattern: boolean): Values {
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.comm, diskName(e.dev), rwbs(e.op, e.flags), e.sector * 512, e.len, usFromNs(queueNs(e)), usFromNs(latencyNs(e)),
    e.sector, `${e.dev >>> 20}:${e.dev & 0xfffff}`, e.error, pattern ? (patternLetter(e.pattern) as BiosnoopRecord['pattern']) : undefined,
  ];
}

/** One request as the typed API yields it (the object of `biosnoop --json`'s line). */
export const toRecord = (e: Event, clock: Clock, pattern: boolean): BiosnoopRecord => RECORD.record(recordValues(e, clock, pattern));

/** The histograms the kernel keeps with --hist, by disk. */
export function readHists(skel: BiosnoopSkel): Map<number, number[]> {
  const byDisk = new Map<number, number[]>();
  for (const [k, v] of skel.maps.hists.entries()) {
    const hk = decodeHistKey(k, 0);
    const slots = byDisk.get(hk.dev) ?? new Array<number>(BIOSNOOP_HIST_SLOTS).fill(0);
    slots[hk.slot] += Number(v.readBigUInt64LE(0));
    byDisk.set(hk.dev, slots);
  }
  return byDisk;
}

export const toSnapshot = (timeMs: number, byDisk: Map<number, number[]>): BiosnoopSnapshot => ({
  time: isoTime(timeMs),
  latency_hist_us: Object.fromEntries([...byDisk].map(([d, s]) => [diskName(d), s])),
});

/** REQ_OP_* → the op label (the kernel's numbers, include/linux/blk_types.h) */
const OPS: Record<number, string> = { 0: 'read', 1: 'write', 2: 'flush', 3: 'discard', 5: 'secure_erase', 9: 'write_zeroes' };
export const opName = (op: number) => OPS[op] ?? `op${op}`;

/**
 * Its Prometheus series (libs/metrics/README.md), for `biosnoop --metrics` and the exporter: the
 * completion program adds each request to this CPU's totals for its (disk, op) in io_metrics, next
 * to the ring buffer's event; a scrape sums the CPUs.
 */
export function register(m: Metrics, skel: BiosnoopSkel): void {
  const map = skel.maps.io_metrics;
  const read = () => {
    const out: { disk: string; op: string; count: number; bytes: number; lat_ns: number; slots: number[] }[] = [];
    for (const k of map.keys()) {
      const key = decodeIoMetricKey(k, 0);
      const t = { disk: diskName(key.dev), op: opName(key.op), count: 0, bytes: 0, lat_ns: 0, slots: new Array<number>(BIOSNOOP_HIST_SLOTS).fill(0) };
      for (const v of map.lookupPerCpu(k)) {
        const c = decodeIoMetric(v, 0);
        t.count += c.count;
        t.bytes += c.bytes;
        t.lat_ns += c.lat_ns;
        c.slots.forEach((n, i) => (t.slots[i] += n));
      }
      out.push(t);
    }
    return out;
  };
  m.counter('block_io_bytes_total', 'bytes of completed block I/O requests, by disk and operation (biosnoop\'s filters applied)', () =>
    read().map((t) => ({ labels: { disk: t.disk, op: t.op }, value: t.bytes })));
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns; _count is the number of requests
  m.log2Histogram('block_io_duration_seconds', 'device latency of block I/O requests (issue to completion), by disk and operation', { unit: 1e-6, resolution: 1e-9 }, () =>
    read().map((t) => ({ labels: { disk: t.disk, op: t.op }, slots: t.slots, sum: t.lat_ns / 1e9 })));
}

/** What setup() takes: the typed API's options, and --hist (the kernel fills hists, no event sent). */
export type BiosnoopSetupOptions = BiosnoopOptions & { hist?: boolean };

/** What setup() hands back: the object, and whether records carry the access pattern. */
export interface BiosnoopHandle {
  skel: BiosnoopSkel;
  pattern: boolean;
}

export const tool: EventCommand<BiosnoopArgs, BiosnoopSetupOptions, BiosnoopHandle, Values, BiosnoopRecord> = {
  name: 'biosnoop',
  spec,
  options: (a) => ({ pattern: a.pattern, disk: a.disk, minLatency: a['min-latency'], hist: a.hist }),
  /** the options checked, then the object opened, configured, loaded and attached: events wait in maps.events, or with `hist` the kernel fills maps.hists */
  setup(session, o, counting = {}) {
    const minNs = o.minLatency === undefined ? 0 : parseMinLatency(o.minLatency);
    const dev = o.disk === undefined ? 0 : diskDev(o.disk);
    const skel = session.open(BiosnoopSkel, new URL('../bpf/biosnoop.bpf.o', import.meta.url), {
      cfg_dev: dev,
      cfg_min_lat_ns: minNs,
      cfg_hist: Boolean(o.hist),
      cfg_pattern: Boolean(o.pattern) && !o.hist,
      cfg_submit_at_issue: !rawTracepointExists('block_io_start'),
    }, counting);
    const { progs } = skel;
    session.loadAndAttach(skel);
    const skipped = new Set(skel.obj.skipped.map((s) => s.program));
    const attached = (p: { name: string }) => !skipped.has(p.name);
    if (!attached(progs.biosnoop_rq_issue) || !attached(progs.biosnoop_rq_complete)) {
      throw new PreflightError('this kernel lacks the block_rq_issue/block_rq_complete tracepoints biosnoop needs');
    }
    if (!attached(progs.biosnoop_io_start)) session.verbose('no block:block_io_start (kernel before 6.5): submitters are taken at insert, or at issue for requests issued directly');
    return { skel, pattern: Boolean(o.pattern) && !o.hist };
  },
  ring: (h) => h.skel.maps.events,
  record: RECORD,
  values: (h, clock) => (b, off) => recordValues(decodeEvent(b, off), clock, h.pattern),
  text(_h, a: BiosnoopArgs & CommonArgs, ctx) {
    const t0 = ctx.clock.monotonicNowNs();
    const cols = new Columns([
      ...(a.timestamp ? [{ name: 'TIME', width: 12 }] : []),
      { name: 'TIME(ms)', width: 11, align: 'right' as const },
      { name: 'COMM', width: 16 },
      { name: 'PID', width: 7, align: 'right' as const },
      { name: 'DISK', width: 8 },
      { name: 'T', width: 4 },
      { name: 'OFFSET', width: 14, align: 'right' as const },
      { name: 'LEN', width: 8, align: 'right' as const },
      ...(a.pattern ? [{ name: 'P', width: 1 }] : []),
      ...(a.queued ? [{ name: 'QUE(ms)', width: 8, align: 'right' as const }] : []),
      { name: 'LAT(ms)', width: 0 },
    ]);
    const row = (e: Event): string => cols.row([
      ...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []),
      ((e.ts_ns - t0) / 1e6).toFixed(3), tableText(e.comm), e.pid, diskName(e.dev), rwbs(e.op, e.flags), e.sector * 512, e.len,
      ...(a.pattern ? [patternLetter(e.pattern)] : []),
      ...(a.queued ? [(queueNs(e) / 1e6).toFixed(3)] : []), (latencyNs(e) / 1e6).toFixed(3),
    ]);
    return { header: cols.header(), line: (b, off) => row(decodeEvent(b, off)) };
  },
  // a disk is the host's: say what a container's view leaves out
  started: (_h, ctx) => {
    if (pidNamespace()) ctx.session.note('biosnoop: in a PID namespace: only I/O its own tasks submit is shown (not the kernel\'s writeback, not other containers\' or the host\'s)');
  },
  ready: () => 'Tracing block I/O... Hit Ctrl-C to end.',
  summary: ({ skel }, a, ctx) => (!a.hist ? undefined : {
    ready: 'Tracing block I/O latency... Hit Ctrl-C to end and print histograms.',
    stop() {
      const byDisk = readHists(skel);
      if (a.json) {
        ctx.out.line(JSON.stringify(toSnapshot(Date.now(), byDisk)));
        return;
      }
      for (const [d, slots] of byDisk) ctx.out.line(log2Hist(slots, { title: `disk = ${diskName(d)}, latency (usecs):` }).trimEnd() + '\n');
    },
  }),
  register: (m, h) => register(m, h.skel),
};

/** The exporter's options for biosnoop (its config file), named as the command's options. */
export interface BiosnoopMetricsOptions {
  /** --disk: only this disk */
  disk?: string;
}

/** The exporter's typed entry (`@bpf-recipes/biosnoop/metrics`): biosnoop's programs counting into io_metrics, no event sent (cfg_events off). */
export const metrics: ToolMetrics<Session, BiosnoopMetricsOptions, BiosnoopSkel> = {
  options: { disk: 'string' },
  open: (session, o) => tool.setup(session, { disk: o.disk }, { metrics: true, events: false }).skel,
  register,
};

/**
 * Trace block I/O requests as they complete: `for await (const r of trace({ disk: 'vda' }))`.
 * Throws PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: BiosnoopOptions = {}): EventStream<BiosnoopRecord> => traceTool(tool, options, new Clock());

/**
 * Histograms of device latency per disk, kept in the kernel from now on (`biosnoop --hist`):
 * snapshot() gives what its --json line holds for the time since start. close() detaches.
 */
export function start(options: Omit<BiosnoopOptions, 'pattern'> = {}): Aggregation<BiosnoopSnapshot> {
  return aggregation<BiosnoopSnapshot>(sessionOptions('biosnoop', options), (session) => {
    const { skel } = tool.setup(session, { ...options, hist: true });
    return () => toSnapshot(Date.now(), readHists(skel));
  });
}

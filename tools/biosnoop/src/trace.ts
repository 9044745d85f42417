/**
 * biosnoop's tracing, as a library: the command (main.ts) and the typed API (trace(), start())
 * run this same code. The kernel side is bpf/biosnoop.bpf.c; the skeleton, Event, the flag bits,
 * the pattern values and BIOSNOOP_HIST_SLOTS are generated from its BTF and header.
 */
import { aggregation, parseMinLatency, sessionOptions, type Aggregation, type CommonTraceOptions, type EventStream, type Session, traceEvents } from '@bpf-recipes/runtime';
import { Clock, isoTime, jsonFields, usFromNs } from '@bpf-recipes/format';
import { BIOSNOOP_HIST_SLOTS, decodeEvent, decodeHistKey, type BiosnoopSkel, type Event } from './generated/biosnoop.js';
import { diskDev, diskName, patternLetter, rwbs } from './disks.js';
import { openBiosnoop } from './object.js';

/** The command's options (`-P`, `--disk`, `--min-latency`, `--hist` and the common filters), typed. */
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

export function toRecord(e: Event, clock: Clock, pattern: boolean): BiosnoopRecord {
  return {
    time: isoTime(clock.wallMs(e.ts_ns)),
    pid: e.pid,
    ...(jsonFields('comm', e.comm) as { comm: string }),
    disk: diskName(e.dev),
    rwbs: rwbs(e.op, e.flags),
    offset: e.sector * 512,
    len: e.len,
    queue_us: usFromNs(queueNs(e)),
    latency_us: usFromNs(latencyNs(e)),
    sector: e.sector,
    dev: `${e.dev >>> 20}:${e.dev & 0xfffff}`,
    error: e.error,
    ...(pattern ? { pattern: patternLetter(e.pattern) as BiosnoopRecord['pattern'] } : {}),
  };
}

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

/**
 * Check the options, then open, configure, load and attach biosnoop's object on a session:
 * events wait in skel.maps.events, or with `hist` the kernel fills skel.maps.hists.
 */
export function setup(session: Session, o: Pick<BiosnoopOptions, 'pattern' | 'disk' | 'minLatency'> & { hist?: boolean; metrics?: boolean }): BiosnoopSkel {
  const minNs = o.minLatency === undefined ? 0 : parseMinLatency(o.minLatency);
  const dev = o.disk === undefined ? 0 : diskDev(o.disk);
  return openBiosnoop(session, {
    cfg_dev: dev,
    cfg_min_lat_ns: minNs,
    cfg_hist: Boolean(o.hist),
    cfg_pattern: Boolean(o.pattern) && !o.hist,
    cfg_metrics: Boolean(o.metrics),
  });
}

/**
 * Trace block I/O requests as they complete: `for await (const r of trace({ disk: 'vda' }))`.
 * Throws PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: BiosnoopOptions = {}): EventStream<BiosnoopRecord> {
  const clock = new Clock();
  return traceEvents('biosnoop', options, (session) => {
    const skel = setup(session, options);
    const pattern = Boolean(options.pattern);
    return { ring: skel.maps.events, record: (b, off) => toRecord(decodeEvent(b, off), clock, pattern) };
  });
}

/**
 * Histograms of device latency per disk, kept in the kernel from now on (`biosnoop --hist`):
 * snapshot() gives what its --json line holds for the time since start. close() detaches.
 */
export function start(options: Omit<BiosnoopOptions, 'pattern'> = {}): Aggregation<BiosnoopSnapshot> {
  return aggregation<BiosnoopSnapshot>(sessionOptions('biosnoop', options), (session) => {
    const skel = setup(session, { ...options, hist: true });
    return () => toSnapshot(Date.now(), readHists(skel));
  });
}

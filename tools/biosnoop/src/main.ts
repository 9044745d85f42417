#!/usr/bin/env node
/** biosnoop: user space. The kernel side is bpf/biosnoop.bpf.c (BTF tracepoints of the block layer). */
import { note, parseMinLatency, pidNamespace, runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, isoTime, jsonFields, log2Hist, tableText } from '@bpf-recipes/format';
import { BIOSNOOP_HIST_SLOTS, decodeEvent, decodeHistKey, type Event } from './generated/biosnoop.js';
import { diskDev, diskName, patternLetter, rwbs } from './disks.js';
import { spec, type BiosnoopArgs } from './spec.js';
import { register } from './metrics.js';
import { openBiosnoop } from './object.js';

void runTool<BiosnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const minNs = a['min-latency'] === undefined ? 0 : parseMinLatency(a['min-latency']);
  const dev = a.disk === undefined ? 0 : diskDev(a.disk);
  const skel = openBiosnoop(ctx.session, {
    cfg_dev: dev,
    cfg_min_lat_ns: minNs,
    cfg_hist: Boolean(a.hist),
    cfg_pattern: Boolean(a.pattern) && !a.hist,
    cfg_metrics: Boolean(ctx.metrics),
  });
  const { maps } = skel;
  if (ctx.metrics) register(ctx.metrics, skel);
  // a disk is the host's: say what a container's view leaves out
  if (pidNamespace()) note('biosnoop: in a PID namespace: only I/O its own tasks submit is shown (not the kernel\'s writeback, not other containers\' or the host\'s)');

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
  const queueMs = (e: Event) => (e.insert_ns && e.issue_ns >= e.insert_ns ? (e.issue_ns - e.insert_ns) / 1e6 : 0);
  const line = (e: Event): string => {
    const lat = (e.ts_ns - e.issue_ns) / 1e6;
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ctx.clock.wallMs(e.ts_ns)), pid: e.pid, ...jsonFields('comm', e.comm), disk: diskName(e.dev), rwbs: rwbs(e.op, e.flags),
        offset: e.sector * 512, len: e.len, queue_ms: Math.round(queueMs(e) * 1000) / 1000, latency_ms: Math.round(lat * 1000) / 1000,
        sector: e.sector, dev: `${e.dev >>> 20}:${e.dev & 0xfffff}`, error: e.error,
        ...(a.pattern ? { pattern: patternLetter(e.pattern) } : {}),
      });
    }
    return cols.row([
      ...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []),
      ((e.ts_ns - t0) / 1e6).toFixed(3), tableText(e.comm), e.pid, diskName(e.dev), rwbs(e.op, e.flags), e.sector * 512, e.len,
      ...(a.pattern ? [patternLetter(e.pattern)] : []),
      ...(a.queued ? [queueMs(e).toFixed(3)] : []), lat.toFixed(3),
    ]);
  };

  if (a.hist) {
    ctx.onStop(() => {
      const byDisk = new Map<number, number[]>();
      for (const [k, v] of maps.hists.entries()) {
        const hk = decodeHistKey(k, 0);
        const slots = byDisk.get(hk.dev) ?? new Array(BIOSNOOP_HIST_SLOTS).fill(0);
        slots[hk.slot] += Number(v.readBigUInt64LE(0));
        byDisk.set(hk.dev, slots);
      }
      if (a.json) {
        ctx.out.line(JSON.stringify({ time: isoTime(Date.now()), latency_hist_us: Object.fromEntries([...byDisk].map(([d, s]) => [diskName(d), s])) }));
        return;
      }
      for (const [d, slots] of byDisk) ctx.out.line(log2Hist(slots, { title: `disk = ${diskName(d)}, latency (usecs):` }).trimEnd() + '\n');
    });
    ctx.ready('Tracing block I/O latency... Hit Ctrl-C to end and print histograms.');
    return;
  }
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(maps.events, (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready('Tracing block I/O... Hit Ctrl-C to end.');
});

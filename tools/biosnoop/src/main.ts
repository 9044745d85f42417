#!/usr/bin/env node
/** biosnoop: user space. The kernel side is bpf/biosnoop.bpf.c (BTF tracepoints of the block layer). */
import { note, pidNamespace, runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, log2Hist, tableText } from '@bpf-recipes/format';
import { decodeEvent, type Event } from './generated/biosnoop.js';
import { diskName, patternLetter, rwbs } from './disks.js';
import { spec, type BiosnoopArgs } from './spec.js';
import { register } from './metrics.js';
import { latencyNs, queueNs, readHists, setup, toRecord, toSnapshot } from './trace.js';

void runTool<BiosnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const skel = setup(ctx.session, { pattern: a.pattern, disk: a.disk, minLatency: a['min-latency'], hist: a.hist, metrics: Boolean(ctx.metrics) });
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
  const pattern = Boolean(a.pattern);
  const line = (e: Event): string => {
    if (a.json) return JSON.stringify(toRecord(e, ctx.clock, pattern));
    return cols.row([
      ...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []),
      ((e.ts_ns - t0) / 1e6).toFixed(3), tableText(e.comm), e.pid, diskName(e.dev), rwbs(e.op, e.flags), e.sector * 512, e.len,
      ...(a.pattern ? [patternLetter(e.pattern)] : []),
      ...(a.queued ? [(queueNs(e) / 1e6).toFixed(3)] : []), (latencyNs(e) / 1e6).toFixed(3),
    ]);
  };

  if (a.hist) {
    ctx.onStop(() => {
      const byDisk = readHists(skel);
      if (a.json) {
        ctx.out.line(JSON.stringify(toSnapshot(Date.now(), byDisk)));
        return;
      }
      for (const [d, slots] of byDisk) ctx.out.line(log2Hist(slots, { title: `disk = ${diskName(d)}, latency (usecs):` }).trimEnd() + '\n');
    });
    ctx.ready('Tracing block I/O latency... Hit Ctrl-C to end and print histograms.');
    return;
  }
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(skel.maps.events, (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready('Tracing block I/O... Hit Ctrl-C to end.');
});

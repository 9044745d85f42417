#!/usr/bin/env node
/** syscount: user space. Aggregation happens in the kernel (bpf/syscount.bpf.c); this reads and prints. */
import { runTool } from '@bpf-recipes/cli';
import { intervalHeader, log2Hist, syscallName, syscallTable, table, tableText } from '@bpf-recipes/format';
import { parseInterval } from '@bpf-recipes/runtime';
import { spec, type SyscountArgs } from './spec.js';
import { register } from './metrics.js';
import { rank, setup, toSnapshot, type Totals } from './trace.js';

void runTool<SyscountArgs>(spec, (ctx) => {
  const a = ctx.args;
  if (a.list) {
    syscallTable().forEach((n, nr) => n && ctx.out.line(`${String(nr).padStart(4)} ${n}`));
    return ctx.stop(0);
  }
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  // --metrics -L: a duration histogram
  const { skel, counts, shape } = setup(ctx.session, {
    latency: a.latency, hist: a.hist, failures: a.failures, errno: a.errno, syscall: a.syscall?.split(','), process: a.process, top: a.top,
  }, Boolean(ctx.metrics), ctx.metricsBy);
  const { latency, names, top } = shape;
  if (ctx.metrics) register(ctx.metrics, { skel, nrs: counts.nrs, names, latency: Boolean(a.hist || (latency && ctx.metrics)), by: ctx.metricsBy });
  const prevSys = new Map<number, Totals>();
  const prevProc = new Map<number, Totals>();
  const prevHist = new Map<number, number[]>();
  let lastPrint = Date.now();

  const histDelta = (): Map<number, number[]> => {
    const out = new Map<number, number[]>();
    for (const [nr, slots] of counts.hists()) {
      const prev = prevHist.get(nr);
      const d = slots.map((n, i) => n - (prev?.[i] ?? 0));
      prevHist.set(nr, slots);
      if (d.some((n) => n > 0)) out.set(nr, d.map((n) => Math.max(n, 0)));
    }
    return out;
  };

  const unit = a.milliseconds ? 'ms' : 'us';
  const div = a.milliseconds ? 1e6 : 1e3;
  const t3 = (ns: number) => (ns / div).toFixed(3);

  const print = () => {
    const now = Date.now();
    const sys = delta(counts.syscalls(), prevSys);
    const procs = delta(counts.processes(), prevProc);
    const hists = a.hist ? histDelta() : new Map<number, number[]>();

    if (a.json) {
      ctx.out.line(JSON.stringify(toSnapshot(now, sys, procs, hists, shape, intervalS !== undefined ? Math.round(now - lastPrint) / 1000 : undefined)));
      lastPrint = now;
      return;
    }
    const sysRows = rank(sys, latency, top);
    const procRows = rank(procs, latency, top);
    if (intervalS !== undefined) ctx.out.line(intervalHeader(now));
    const latCols = latency ? [`TOTAL(${unit})`, `AVG(${unit})`] : [];
    const lat = (t: Totals) => (latency ? [t3(t.total_ns), t3(t.count ? t.total_ns / t.count : 0)] : []);
    if (!a.process) {
      ctx.out.line(table(['SYSCALL', 'COUNT', 'ERRORS', ...latCols], sysRows.map(([nr, t]) => [syscallName(nr, names), t.count, t.errors, ...lat(t)]),
        ['left', 'right', 'right', 'right', 'right']));
      ctx.out.line('');
    }
    ctx.out.line(table(['PID', 'COMM', 'COUNT', 'ERRORS', ...latCols], procRows.map(([pid, t]) => [pid, tableText(t.comm), t.count, t.errors, ...lat(t)]),
      ['right', 'left', 'right', 'right', 'right', 'right']));
    if (a.hist) {
      for (const [nr] of sysRows) {
        const slots = hists.get(nr);
        if (slots) ctx.out.line('\n' + log2Hist(slots, { title: `${syscallName(nr, names)} (usecs):` }).trimEnd());
      }
    }
    ctx.out.line('');
    lastPrint = now;
  };

  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(print);
  const what = [a.failures ? 'failed ' : '', a.errno ? `${a.errno} ` : ''].join('');
  ctx.ready(`Tracing ${what}syscalls${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

/** What happened since the last print (kernel totals only grow: nothing is cleared mid-flight). */
function delta<T extends Totals>(now: Map<number, T>, prev: Map<number, Totals>): Map<number, T> {
  const out = new Map<number, T>();
  for (const [k, t] of now) {
    const p = prev.get(k);
    const d = { ...t, count: t.count - (p?.count ?? 0), errors: t.errors - (p?.errors ?? 0), total_ns: t.total_ns - (p?.total_ns ?? 0) };
    prev.set(k, { count: t.count, errors: t.errors, total_ns: t.total_ns });
    if (d.count > 0) out.set(k, d);
  }
  return out;
}

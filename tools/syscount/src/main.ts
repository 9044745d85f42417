#!/usr/bin/env node
/** syscount: user space. Aggregation happens in the kernel (bpf/syscount.bpf.c); this reads and prints. */
import { runTool, parseIntArg } from '@bpf-recipes/cli';
import { UsageError, errnoNumber, type BpfMap } from '@bpf-recipes/core';
import { intervalHeader, isoTime, jsonFields, log2Hist, table, tableText } from '@bpf-recipes/format';
import { decodeHistKey, decodeProcCache, decodeProcStat, decodeScStat } from './generated/syscount.js';
import { parseInterval } from './args.js';
import { spec, type SyscountArgs } from './spec.js';
import { parseSyscalls, syscallName, syscallTable } from './syscalls.js';
import { register } from './metrics.js';
import { HIST_SLOTS, openSyscount, syscallNrs } from './object.js';

interface Totals { count: number; errors: number; total_ns: number }
interface ProcTotals extends Totals { comm: string; commNs: number }

void runTool<SyscountArgs>(spec, (ctx) => {
  const a = ctx.args;
  const names = syscallTable();
  if (a.list) {
    names.forEach((n, nr) => n && ctx.out.line(`${String(nr).padStart(4)} ${n}`));
    return ctx.stop(0);
  }
  const top = a.top === undefined ? 10 : parseIntArg('top', a.top, 'a number of rows (1 or more)', 1);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  let errnoFilter = 0;
  if (a.errno !== undefined) {
    const n = /^\d+$/.test(a.errno) ? Number(a.errno) : errnoNumber(a.errno);
    if (!n || n > 4095) throw new UsageError(`--errno: unknown errno '${a.errno}' (a name like ENOENT or a number)`);
    errnoFilter = n;
  }
  const only = a.syscall === undefined ? undefined : parseSyscalls(a.syscall, names);
  const latency = Boolean(a.latency || a.hist);
  // --metrics -L: a duration histogram
  const obj = openSyscount(ctx.session, { latency, hist: Boolean(a.hist || (latency && ctx.metrics)), failures: a.failures, errno: errnoFilter, only, names });

  const syscallsMap = obj.map('syscalls');
  const procsMap = obj.map('processes');
  const cacheMap = obj.map('proc_cache');
  const histsMap = obj.map('hists');
  const allNrs = () => syscallNrs(only, names);
  if (ctx.metrics) register(ctx.metrics, { obj, nrs: allNrs(), names, latency: Boolean(a.hist || (latency && ctx.metrics)) });
  const prevSys = new Map<number, Totals>();
  const prevProc = new Map<number, Totals>();
  const prevHist = new Map<string, number>();
  let lastPrint = Date.now();

  const readSyscalls = (): Map<number, Totals> => {
    const now = new Map<number, Totals>();
    const key = Buffer.alloc(4);
    for (const nr of allNrs()) {
      key.writeUInt32LE(nr);
      const t = sumPerCpu(syscallsMap, key);
      if (t.count > 0) now.set(nr, t);
    }
    return now;
  };
  // per-process totals = the hash + each CPU's slot for the process it is counting now
  const readProcs = (): Map<number, ProcTotals> => {
    const now = new Map<number, ProcTotals>();
    // a process that moved between CPUs has a slot on each: the name read last is its name now
    // (a shell wrapper that exec()s, a prctl rename)
    const add = (pid: number, s: { count: number; errors: number; total_ns: number; comm_ns: number; comm: string }) => {
      const t = now.get(pid) ?? { count: 0, errors: 0, total_ns: 0, comm: '', commNs: -1 };
      t.count += s.count;
      t.errors += s.errors;
      t.total_ns += s.total_ns;
      if (s.comm && s.count && s.comm_ns > t.commNs) {
        t.comm = s.comm;
        t.commNs = s.comm_ns;
      }
      now.set(pid, t);
    };
    for (const k of procsMap.keys()) for (const v of procsMap.lookupPerCpu(k)) add(k.readUInt32LE(0), decodeProcStat(v, 0));
    for (const v of cacheMap.lookupPerCpu(Buffer.alloc(4))) {
      const c = decodeProcCache(v, 0);
      if (c.pid) add(c.pid, c.stat);
    }
    return now;
  };
  const readHists = (): Map<number, number[]> => {
    const out = new Map<number, number[]>();
    for (const k of histsMap.keys()) {
      const hk = decodeHistKey(k, 0);
      const total = histsMap.sumU64(k);
      const id = `${hk.nr}:${hk.slot}`;
      const d = total - (prevHist.get(id) ?? 0);
      prevHist.set(id, total);
      if (d <= 0) continue;
      const slots = out.get(hk.nr) ?? new Array(HIST_SLOTS).fill(0);
      slots[hk.slot] += d;
      out.set(hk.nr, slots);
    }
    return out;
  };

  const unit = a.milliseconds ? 'ms' : 'us';
  const div = a.milliseconds ? 1e6 : 1e3;
  const t3 = (ns: number) => (ns / div).toFixed(3);

  const print = () => {
    const now = Date.now();
    const sys = delta(readSyscalls(), prevSys);
    const procs = delta(readProcs(), prevProc);
    const hists = a.hist ? readHists() : new Map<number, number[]>();
    const by = (x: Totals, y: Totals) => (latency ? y.total_ns - x.total_ns : y.count - x.count) || 0;
    const sysRows = [...sys].sort((x, y) => by(x[1], y[1])).slice(0, top);
    const procRows = [...procs].sort((x, y) => by(x[1], y[1])).slice(0, top);

    if (a.json) {
      ctx.out.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {}),
        syscalls: a.process ? undefined : sysRows.map(([nr, t]) => ({ name: syscallName(nr, names), id: nr, count: t.count, errors: t.errors, total_ns: latency ? t.total_ns : undefined })),
        processes: procRows.map(([pid, t]) => ({ pid, ...jsonFields('comm', (t as ProcTotals).comm), count: t.count, errors: t.errors, total_ns: latency ? t.total_ns : undefined })),
        ...(a.hist ? { latency_hist_us: Object.fromEntries([...hists].map(([nr, s]) => [syscallName(nr, names), s])) } : {}),
      }));
      lastPrint = now;
      return;
    }
    if (intervalS !== undefined) ctx.out.line(intervalHeader(now));
    const latCols = latency ? [`TOTAL(${unit})`, `AVG(${unit})`] : [];
    const lat = (t: Totals) => (latency ? [t3(t.total_ns), t3(t.count ? t.total_ns / t.count : 0)] : []);
    if (!a.process) {
      ctx.out.line(table(['SYSCALL', 'COUNT', 'ERRORS', ...latCols], sysRows.map(([nr, t]) => [syscallName(nr, names), t.count, t.errors, ...lat(t)]),
        ['left', 'right', 'right', 'right', 'right']));
      ctx.out.line('');
    }
    ctx.out.line(table(['PID', 'COMM', 'COUNT', 'ERRORS', ...latCols], procRows.map(([pid, t]) => [pid, tableText((t as ProcTotals).comm), t.count, t.errors, ...lat(t)]),
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

function sumPerCpu(map: BpfMap, key: Buffer): Totals {
  const t = { count: 0, errors: 0, total_ns: 0 };
  for (const v of map.lookupPerCpu(key)) {
    const s = decodeScStat(v, 0);
    t.count += s.count;
    t.errors += s.errors;
    t.total_ns += s.total_ns;
  }
  return t;
}

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

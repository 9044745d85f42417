#!/usr/bin/env node
/** syslatency: user space. The histograms are made in the kernel (bpf/syslatency.bpf.c); this reads and prints them. */
import { note, runTool } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';
import { intervalHeader, isoTime, jsonFields, log2Hist, syscallTable, tableText } from '@bpf-recipes/format';
import { spec, type SyslatencyArgs } from './spec.js';
import { BY, histogramKey, setup, type By, type Histogram } from './trace.js';


export function parseInterval(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--interval: '${v}' is not a number of seconds (e.g. 30 or 0.5)`);
  return n;
}

/** A slot's bounds in the histogram's unit: [low, high); the last slot has no upper bound. */
function bucket(slot: number, last: boolean): { low: number; high: number | null } {
  const low = slot === 0 ? 0 : 2 ** (slot - 1);
  return { low, high: last ? null : slot === 0 ? 1 : 2 ** slot };
}

void runTool<SyslatencyArgs>(spec, (ctx) => {
  const a = ctx.args;
  if (a.list) {
    if (ctx.positionals.length) throw new UsageError('-l lists every syscall: name none');
    syscallTable().forEach((n, nr) => n && ctx.out.line(`${String(nr).padStart(4)} ${n}`));
    return ctx.stop(0);
  }
  const by = (a.by ?? 'comm') as By;
  if (!BY.includes(by)) throw new UsageError(`--by: '${a.by}' is not one of ${BY.join(', ')}`);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  const read = setup(ctx.session, { syscalls: ctx.positionals, by, milliseconds: a.milliseconds });

  const unit = a.milliseconds ? 'ms' : 'us';
  const unitWord = a.milliseconds ? 'msecs' : 'usecs';
  const prev = new Map<string, Histogram>();
  let missedSeen = 0;
  let lastPrint = Date.now();

  /** what each key counted since the previous print (the kernel's totals only grow) */
  const deltas = (hs: Histogram[]): Histogram[] => {
    const out: Histogram[] = [];
    for (const h of hs) {
      const k = histogramKey(h);
      const p = prev.get(k);
      prev.set(k, h);
      const slots = h.slots.map((c, i) => c - (p?.slots[i] ?? 0));
      const count = h.count - (p?.count ?? 0);
      if (count > 0) out.push({ ...h, slots, count, total_ns: h.total_ns - (p?.total_ns ?? 0) });
    }
    return out.sort((x, y) => y.count - x.count || histogramKey(x).localeCompare(histogramKey(y)));
  };
  const title = (h: Histogram): string => {
    const who =
      by === 'comm' ? `comm = ${tableText(h.comm ?? '')}`
      : by === 'syscall' ? `syscall = ${h.syscall}`
      : `${by} = ${h.pid ?? h.tid} (${tableText(h.comm ?? '')})`;
    return `${who}, ${h.count} call${h.count === 1 ? '' : 's'}, latency (${unitWord}):`;
  };

  const print = () => {
    const now = Date.now();
    const snap = read();
    if (snap.missed > missedSeen) {
      note(`syslatency: ${snap.missed - missedSeen} calls not counted: the kernel's table of ${by} keys is full`);
      missedSeen = snap.missed;
    }
    const hs = deltas(snap.histograms);
    if (a.json) {
      for (const h of hs) {
        const last = h.slots.length - 1;
        ctx.out.line(JSON.stringify({
          time: isoTime(now),
          ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {}),
          ...(by === 'comm' ? jsonFields('comm', h.comm ?? '') : {}),
          ...(by === 'pid' ? { pid: h.pid, ...jsonFields('comm', h.comm ?? '') } : {}),
          ...(by === 'tid' ? { tid: h.tid, ...jsonFields('comm', h.comm ?? '') } : {}),
          ...(by === 'syscall' ? { syscall: h.syscall, id: h.id } : {}),
          unit,
          count: h.count,
          total_ns: h.total_ns,
          buckets: h.slots.flatMap((count, s) => (count ? [{ ...bucket(s, s === last), count }] : [])),
        }));
      }
    } else {
      if (intervalS !== undefined || a.timestamp) ctx.out.line(intervalHeader(now));
      if (hs.length === 0) ctx.out.line('(no calls)');
      for (const h of hs) ctx.out.line(log2Hist(h.slots, { title: title(h) }));
    }
    lastPrint = now;
  };

  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(print);
  const what = ctx.positionals.length ? ctx.positionals.join(', ') : 'syscall';
  ctx.ready(`Tracing ${what} latency by ${by}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

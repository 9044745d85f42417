#!/usr/bin/env node
/** syslatency: user space. The histograms are made in the kernel (bpf/syslatency.bpf.c); this reads and prints them. */
import { note, runTool } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';
import { intervalHeader, isoTime, jsonFields, log2Hist, syscallTable, tableText } from '@bpf-recipes/format';
import { checkInterval, finishUnwind, missedNotes, parseInterval, parseStackArgs, type StackRow } from '@bpf-recipes/stacks';
import { StackWriter, stackTextLines } from '@bpf-recipes/stacks/writer';
import { spec, type SyslatencyArgs } from './spec.js';
import { BY, STACK_BY, histogramKey, setup, type By, type Histogram, type StackHistogram } from './trace.js';


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
  const byStack = STACK_BY.includes(by);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  if (!byStack) {
    for (const o of ['format', 'output'] as const) if (a[o] !== undefined) throw new UsageError(`--${o} writes stacks: give --by ${STACK_BY.join('|')} with it`);
  }
  const so = parseStackArgs({ ...a, kernel: undefined, user: undefined });
  checkInterval(so, intervalS);
  const unit = a.milliseconds ? 'ms' : 'us';
  const unitWord = a.milliseconds ? 'msecs' : 'usecs';
  // -o: the file is created once the arguments are known good, before anything is attached
  const writer = byStack
    ? new StackWriter({
        tool: spec.name, options: so, stdout: ctx.out, countName: 'us', sampleType: 'latency', unit: 'microseconds',
        more: [{ sampleType: 'calls', unit: 'count' }],
      })
    : undefined;
  writer?.open();
  const t = setup(ctx.session, {
    syscalls: ctx.positionals, by, milliseconds: a.milliseconds, min: a.min, perProcess: a['per-process'],
    ...(a['stack-storage-size'] !== undefined ? { stackStorageSize: so.storage } : {}),
    ...(a['frame-pointers'] !== undefined ? { framePointers: so.framePointers } : {}),
    ...(a['unwind-memory'] !== undefined ? { unwindMemoryMb: so.unwindMemoryMb } : {}),
  });
  const out = writer?.lines ?? ctx.out;
  const startedAt = Date.now();
  const prev = new Map<string, Histogram>();
  let missedSeen = 0;
  let lastPrint = startedAt;

  /** what each key counted since the previous print (the kernel's totals only grow) */
  const deltas = <H extends Histogram>(hs: H[]): H[] => {
    const out: H[] = [];
    for (const h of hs) {
      const k = histogramKey(h);
      const p = prev.get(k);
      prev.set(k, h);
      const slots = h.slots.map((c, i) => c - (p?.slots[i] ?? 0));
      const count = h.count - (p?.count ?? 0);
      if (count > 0) out.push({ ...h, slots, count, total_ns: h.total_ns - (p?.total_ns ?? 0) });
    }
    return out.sort((x, y) => (byStack ? y.total_ns - x.total_ns : 0) || y.count - x.count || histogramKey(x).localeCompare(histogramKey(y)));
  };
  const title = (h: Histogram): string => {
    const who =
      byStack ? `${h.syscall}(2)`
      : by === 'comm' ? `comm = ${tableText(h.comm ?? '')}`
      : by === 'syscall' ? `syscall = ${h.syscall}`
      : `${by} = ${h.pid ?? h.tid} (${tableText(h.comm ?? '')})`;
    return `${who}, ${h.count} call${h.count === 1 ? '' : 's'}, latency (${unitWord}):`;
  };
  /** a stack's row for the flame formats: the syscall a frame between the user and the kernel frames; weight µs, calls beside */
  const row = (h: StackHistogram): StackRow => {
    const sys = { name: `${h.syscall}(2)` };
    return {
      ...(h.pid !== undefined ? { pid: h.pid } : {}),
      comm: tableText(h.comm ?? ''),
      ...(h.userFrames ? { user: [sys, ...h.userFrames] } : {}),
      ...(h.kernelFrames ? { kernel: h.userFrames ? h.kernelFrames : [...h.kernelFrames, sys] } : {}),
      count: Math.round(h.total_ns / 1000),
      more: [h.count],
    };
  };
  const buckets = (h: Histogram) => {
    const last = h.slots.length - 1;
    return h.slots.flatMap((count, s) => (count ? [{ ...bucket(s, s === last), count }] : []));
  };

  const print = () => {
    const now = Date.now();
    const when = intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {};
    if (byStack) {
      const hs = deltas(t.stackHistograms());
      const m = t.missedStacks!.sinceLastCall();
      if (so.json) {
        for (const h of hs) {
          out.line(JSON.stringify({
            time: isoTime(now), ...when,
            ...(h.pid !== undefined ? { pid: h.pid } : {}),
            ...jsonFields('comm', h.comm ?? ''),
            syscall: h.syscall, id: h.id,
            ...(h.kernel ? { kernel: h.kernel } : {}),
            ...(h.user ? { user: h.user } : {}),
            unit, count: h.count, total_ns: h.total_ns, buckets: buckets(h),
          }));
        }
      } else if (so.format === 'text') {
        if (intervalS !== undefined || a.timestamp) out.line(intervalHeader(now));
        if (hs.length === 0) out.line('(no calls)');
        for (const h of hs) {
          for (const l of stackTextLines({ ...h, comm: tableText(h.comm ?? ''), kernel: h.kernelFrames, user: h.userFrames })) out.line(l);
          out.line(log2Hist(h.slots, { title: `    ${title(h)}` }));
        }
      } else {
        const rows = hs.map(row);
        writer!.write(rows, { name: `syslatency --by ${by}${a.min !== undefined ? ` --min ${a.min}` : ''}`, startMs: startedAt, durationMs: now - startedAt });
      }
      out.flush();
      for (const line of missedNotes(spec.name, m, t.keysMax, 'calls')) note(line);
      lastPrint = now;
      return;
    }
    const snap = t.snapshot();
    if (snap.missed > missedSeen) {
      note(`syslatency: ${snap.missed - missedSeen} calls not counted: the kernel's table of ${by} keys is full`);
      missedSeen = snap.missed;
    }
    const hs = deltas(snap.histograms);
    if (a.json) {
      for (const h of hs) {
        ctx.out.line(JSON.stringify({
          time: isoTime(now), ...when,
          ...(by === 'comm' ? jsonFields('comm', h.comm ?? '') : {}),
          ...(by === 'pid' ? { pid: h.pid, ...jsonFields('comm', h.comm ?? '') } : {}),
          ...(by === 'tid' ? { tid: h.tid, ...jsonFields('comm', h.comm ?? '') } : {}),
          ...(by === 'syscall' ? { syscall: h.syscall, id: h.id } : {}),
          unit,
          count: h.count,
          total_ns: h.total_ns,
          buckets: buckets(h),
        }));
      }
    } else {
      if (intervalS !== undefined || a.timestamp) ctx.out.line(intervalHeader(now));
      if (hs.length === 0) ctx.out.line('(no calls)');
      for (const h of hs) ctx.out.line(log2Hist(h.slots, { title: title(h) }));
    }
    lastPrint = now;
  };

  // with stacks, name new ones every second: a process that exits before the print keeps its names
  if (byStack) ctx.every(1000, () => t.nameNew());
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(() => {
    print();
    finishUnwind(t.unwinder, spec.name, note, (m) => ctx.session.verbose(m));
  });
  const what = ctx.positionals.length ? ctx.positionals.join(', ') : 'syscall';
  const min = a.min !== undefined ? `, calls >= ${a.min}` : '';
  ctx.ready(`Tracing ${what} latency by ${by}${min}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

#!/usr/bin/env node
/**
 * profile: user space. The kernel side (bpf/profile.bpf.c) samples stacks on every CPU and counts
 * them; src/trace.ts sets it up (the same setup() the typed API start() uses); libs/stacks names
 * and prints them.
 */
import { runTool, note } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';
import { intervalHeader, isoTime, jsonFields, tableText } from '@bpf-recipes/format';
import { checkInterval, finishUnwind, jsonStack, missedNotes, parseInterval, parseStackArgs, whichStacks } from '@bpf-recipes/stacks';
import { StackWriter } from '@bpf-recipes/stacks/writer';
import { profileConfig, setup } from './trace.js';
import { spec, type ProfileArgs } from './spec.js';

void runTool<ProfileArgs>(spec, (ctx) => {
  const a = ctx.args;
  const so = parseStackArgs(a);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  checkInterval(so, intervalS);
  const config = profileConfig({
    event: a.event,
    period: a.period,
    by: a.by,
    frequency: a.frequency,
    kernel: so.kernel,
    user: so.user,
    includeIdle: a['include-idle'],
    stackStorageSize: so.storage,
    perProcess: so.perProcess,
    framePointers: so.framePointers,
    unwindMemoryMb: so.unwindMemoryMb,
  });
  if (config.by) {
    for (const [o, v] of [['format', a.format], ['output', a.output], ['kernel', a.kernel], ['user', a.user], ['per-process', a['per-process']]] as const) {
      if (v !== undefined) throw new UsageError(`--by ${config.by} counts without stacks: drop --${o}`);
    }
  }
  const { event, period } = config;
  const clock = event.clock;
  // what a stack's number is: samples (by frequency), or events (samples × period; ns for a clock)
  const what =
    period === undefined ? { countName: 'samples', sampleType: 'samples', unit: 'count' }
    : clock ? { countName: 'ns', sampleType: event.name, unit: 'nanoseconds' }
    : { countName: event.name, sampleType: event.name, unit: 'count' };
  const how = period === undefined ? `-F ${config.frequency}` : `-c ${period}`;
  // -o: the file is created once the arguments are known good, before anything is attached
  const writer = new StackWriter({ tool: spec.name, options: so, stdout: ctx.out, ...what });
  writer.open();
  const sampler = setup(ctx.session, config, note);
  const startedAt = Date.now();
  let lastPrint = startedAt;
  const prevTotals = new Map<string, number>();
  /** what every --json line starts with: when, the event, and what its numbers are */
  const jsonHead = (now: number) => ({
    time: isoTime(now),
    ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : { duration_s: Math.round(now - startedAt) / 1000 }),
    event: event.name,
    ...(period !== undefined ? { period } : { frequency_hz: config.frequency }),
    unit: period === undefined ? 'samples' : clock ? 'ns' : 'events',
  });

  /** --by: the counts per comm (or process) since the last print */
  const printTotals = (now: number) => {
    const rows = [];
    for (const r of sampler.totals()) {
      const at = `${r.pid ?? ''}\0${r.comm}`;
      const d = r.count - (prevTotals.get(at) ?? 0);
      prevTotals.set(at, r.count);
      if (d > 0) rows.push({ ...r, count: d });
    }
    rows.sort((x, y) => y.count - x.count || x.comm.localeCompare(y.comm));
    const m = sampler.missed.sinceLastCall();
    if (so.json) {
      ctx.out.line(JSON.stringify({
        ...jsonHead(now),
        total: rows.reduce((n, r) => n + r.count, 0),
        [config.by === 'pid' ? 'processes' : 'comms']: rows.map((r) => ({ ...(r.pid !== undefined ? { pid: r.pid } : {}), ...jsonFields('comm', r.comm), count: r.count })),
      }));
    } else {
      if (intervalS !== undefined) ctx.out.line(intervalHeader(now));
      const head = period === undefined ? 'SAMPLES' : clock ? `${event.name.toUpperCase()}-NS` : event.name.toUpperCase();
      ctx.out.line(`${config.by === 'pid' ? 'PID     ' : ''}${'COMM'.padEnd(16)} ${head.padStart(12)}`);
      for (const r of rows) ctx.out.line(`${r.pid !== undefined ? String(r.pid).padEnd(8) : ''}${tableText(r.comm).padEnd(16)} ${String(r.count).padStart(12)}`);
    }
    for (const line of missedNotes(spec.name, m, sampler.countsMax, 'samples')) note(line);
    lastPrint = now;
  };

  const print = () => {
    const now = Date.now();
    if (config.by) return printTotals(now);
    const rows = sampler.table.take();
    const m = sampler.missed.sinceLastCall();
    if (so.json) {
      writer.lines.line(JSON.stringify({
        ...jsonHead(now),
        cpus: sampler.cpus.length,
        samples: rows.reduce((n, r) => n + r.count, 0),
        stacks: rows.map((r) => jsonStack(r)),
        missed: m,
      }));
      writer.lines.flush();
    } else {
      writer.write(rows, { name: `profile -e ${event.name} ${how}`, startMs: startedAt, durationMs: now - startedAt }, intervalS !== undefined ? intervalHeader(now) : undefined);
    }
    for (const line of missedNotes(spec.name, m, sampler.countsMax, 'samples')) note(line);
    lastPrint = now;
  };
  const u = sampler.unwinder;

  // name new stacks every second: a process that exits before the end keeps its names
  if (!config.by) {
    ctx.every(1000, () => {
      u?.refresh(); // processes new to the unwinder (exec, dlopen, started since): their tables
      sampler.table.nameNew();
    });
  }
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(() => {
    print();
    finishUnwind(u, spec.name, note, (m) => ctx.session.verbose(m));
  });
  const n = sampler.cpus.length;
  const rate = period === undefined ? `at ${config.frequency} Hz` : `every ${period}${clock ? ' ns of' : ''} ${event.name}${clock ? '' : period === 1 ? ' event' : ' events'}`;
  const subject = config.by ? `${event.name} by ${config.by}` : `${whichStacks(so)} stacks`;
  ctx.ready(`Tracing ${subject}: sampling ${event.name === 'cpu-clock' ? '' : `${event.name} on `}${n} CPU${n === 1 ? '' : 's'} ${rate}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

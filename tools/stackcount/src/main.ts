#!/usr/bin/env node
/**
 * stackcount: user space. The kernel side (bpf/stackcount.bpf.c) stores stacks and counts them;
 * this attaches it to the tracepoint named on the command line, names the stacks and prints them
 * (libs/stacks).
 */
import { runTool, note } from '@bpf-recipes/cli';
import { UsageError, tracefsRoot, tracepointExists } from '@bpf-recipes/core';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { MissedStacks, checkInterval, StackNamer, StackTable, StackWriter, jsonStack, missedNotes, parseStackArgs, whichStacks, type StackEntry } from '@bpf-recipes/stacks';
import {
  STACKCOUNT_COUNTS_MIN, STACKCOUNT_MISSED_STACK, StackcountMissed, StackcountSkel, decodeStackKey, decodeStackVal,
} from './generated/stackcount.js';
import { parseInterval, parseTracepoint, splitPositionals } from './args.js';
import { spec, type StackcountArgs } from './spec.js';

// the parser takes no positionals: CATEGORY:EVENT is taken out first
const split = splitPositionals(spec, process.argv.slice(2));
process.argv = [...process.argv.slice(0, 2), ...split.options];

void runTool<StackcountArgs>(spec, (ctx) => {
  const a = ctx.args;
  const tp = parseTracepoint(split.positionals);
  const so = parseStackArgs(a);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  checkInterval(so, intervalS);
  const countsMax = Math.max(STACKCOUNT_COUNTS_MIN, so.storage);

  const skel = ctx.open(StackcountSkel, new URL('../bpf/stackcount.bpf.o', import.meta.url), { cfg_kernel: so.kernel, cfg_user: so.user });
  const { maps, progs } = skel;
  if (!tracepointExists(tp.category, tp.event)) {
    throw new UsageError(`no tracepoint ${tp.category}:${tp.event} on this kernel (list them: ls ${tracefsRoot() ?? '/sys/kernel/tracing'}/events/${tp.category}/)`);
  }
  const writer = new StackWriter({ tool: spec.name, options: so, stdout: ctx.out, countName: 'counts' });
  writer.open();
  skel.obj.setMaxEntries(maps.stacks, so.storage);
  skel.obj.setMaxEntries(maps.counts, countsMax);
  ctx.loadAndAttach(skel, { attach: false });
  skel.obj.attachTracepoint(progs.stackcount_tp.name, tp.category, tp.event);
  ctx.verbose(`attached ${progs.stackcount_tp.name} to ${tp.category}:${tp.event}`);

  const namer = new StackNamer({ stacks: maps.stacks, kernel: so.kernel, user: so.user, missedId: STACKCOUNT_MISSED_STACK, tool: spec.name, note, verbose: (m) => ctx.verbose(m) });
  const entries = function* (): Generator<StackEntry> {
    for (const k of maps.counts.keys()) {
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const key = decodeStackKey(k, 0);
      const val = decodeStackVal(v, 0);
      yield { id: k.toString('hex'), pid: key.pid, comm: val.comm, kstack: key.kstack, ustack: key.ustack, value: val.count };
    }
  };
  const table = new StackTable(namer, entries, so.perProcess);
  const missed = new MissedStacks(maps.missed, { kernel: StackcountMissed.MISSED_KERNEL, user: StackcountMissed.MISSED_USER, counts: StackcountMissed.MISSED_COUNTS });
  const startedAt = Date.now();
  let lastPrint = startedAt;

  const print = () => {
    const now = Date.now();
    const rows = table.take();
    const dm = missed.sinceLastCall();
    if (so.json) {
      writer.lines.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {}),
        tracepoint: `${tp.category}:${tp.event}`,
        stacks: rows.map((r) => jsonStack(r)),
        missed: dm,
      }));
      writer.lines.flush();
    } else {
      const meta = { name: `stackcount ${tp.category}:${tp.event}`, startMs: startedAt, durationMs: now - startedAt };
      writer.write(rows, meta, intervalS !== undefined ? intervalHeader(now) : undefined);
    }
    for (const m of missedNotes(spec.name, dm, countsMax)) note(m);
    lastPrint = now;
  };

  // name new stacks every second: a process that exits before the print keeps its names
  ctx.every(1000, () => table.nameNew());
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(print);
  ctx.ready(`Tracing ${whichStacks(so)} stacks at ${tp.category}:${tp.event}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

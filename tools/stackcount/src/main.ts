#!/usr/bin/env node
/**
 * stackcount: user space. The kernel side (bpf/stackcount.bpf.c) stores stacks and counts them;
 * src/trace.ts attaches it to the tracepoint named on the command line (the typed API's code too);
 * this names the stacks and prints them (libs/stacks).
 */
import { runTool, note } from '@bpf-recipes/cli';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { checkInterval, finishUnwind, jsonStack, missedNotes, parseStackArgs, whichStacks } from '@bpf-recipes/stacks';
import { StackWriter } from '@bpf-recipes/stacks/writer';
import { parseInterval, parseTracepoint } from './args.js';
import { setup } from './trace.js';
import { spec, type StackcountArgs } from './spec.js';

void runTool<StackcountArgs>(spec, (ctx) => {
  const a = ctx.args;
  const tp = parseTracepoint(ctx.positionals);
  const so = parseStackArgs(a);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  checkInterval(so, intervalS);
  const writer = new StackWriter({ tool: spec.name, options: so, stdout: ctx.out, countName: 'counts' });
  const { table, missed, countsMax, unwinder } = setup(
    ctx.session,
    { tracepoint: tp, kernel: so.kernel, user: so.user, perProcess: so.perProcess, storage: so.storage, framePointers: so.framePointers, unwindMemoryMb: so.unwindMemoryMb },
    () => writer.open(),
  );
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
  ctx.every(1000, () => {
    unwinder?.refresh(); // processes new to the unwinder (exec, dlopen, started since): their tables
    table.nameNew();
  });
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(() => {
    print();
    finishUnwind(unwinder, spec.name, note, (m) => ctx.session.verbose(m));
  });
  ctx.ready(`Tracing ${whichStacks(so)} stacks at ${tp.category}:${tp.event}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

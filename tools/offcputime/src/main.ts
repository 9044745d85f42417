#!/usr/bin/env node
/**
 * offcputime: user space. The kernel side (bpf/offcputime.bpf.c) times each block at sched_switch
 * and sums it by stack; src/trace.ts attaches it (the typed API's code too); this names the stacks
 * and prints them (libs/stacks).
 */
import { note, runTool } from '@bpf-recipes/cli';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { checkInterval, finishUnwind, jsonStack, missedNotes, parseInterval, parseStackArgs, whichStacks } from '@bpf-recipes/stacks';
import { StackWriter } from '@bpf-recipes/stacks/writer';
import { parseBlockRange, parseState, stateLetters } from './args.js';
import { setup } from './trace.js';
import { OFFCPU_STARTS } from './generated/offcputime.js';
import { spec, type OffcputimeArgs } from './spec.js';

void runTool<OffcputimeArgs>(spec, (ctx) => {
  const a = ctx.args;
  const so = parseStackArgs(a);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  checkInterval(so, intervalS);
  const state = parseState(a.state);
  const range = parseBlockRange(a['min-block'], a['max-block']);
  const writer = new StackWriter({ tool: spec.name, options: so, stdout: ctx.out, countName: 'us', sampleType: 'off_cpu', unit: 'microseconds', textCount: (n) => `${n} us` });
  writer.open();
  const t = setup(ctx.session, { kernel: so.kernel, user: so.user, state, ...range, storage: so.storage, perProcess: so.perProcess, framePointers: so.framePointers, unwindMemoryMb: so.unwindMemoryMb });
  const startedAt = Date.now();
  let lastPrint = startedAt;
  let blocksSeen = { starts: 0, ends: 0 };

  const print = () => {
    const now = Date.now();
    const rows = t.table.take();
    const dm = t.missed.sinceLastCall();
    const total = t.missedBlocks();
    const blocks = { starts: total.starts - blocksSeen.starts, ends: total.ends - blocksSeen.ends };
    blocksSeen = total;
    if (so.json) {
      writer.lines.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : { duration_s: Math.round(now - startedAt) / 1000 }),
        stacks: rows.map((r) => jsonStack(r, 'offcpu_us')),
        missed: { ...dm, ...blocks },
      }));
      writer.lines.flush();
    } else {
      writer.write(rows, { name: 'offcputime', startMs: startedAt, durationMs: now - startedAt }, intervalS !== undefined ? intervalHeader(now) : undefined);
    }
    for (const m of missedNotes(spec.name, dm, t.countsMax, 'blocks')) note(m);
    if (blocks.starts) note(`${spec.name}: Lost ${blocks.starts} blocks: more threads were off CPU at once than the kernel side can time (${OFFCPU_STARTS})`);
    if (blocks.ends) note(`${spec.name}: Lost ${blocks.ends} blocks: their threads came back on a CPU unseen (no sched_switch seen for it), so their time is unknown`);
    lastPrint = now;
  };

  // name new stacks every second: a process that exits before the print keeps its names
  ctx.every(1000, () => {
    t.unwinder?.refresh(); // processes new to the unwinder (exec, dlopen, started since): their tables
    t.table.nameNew();
  });
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(() => {
    print();
    finishUnwind(t.unwinder, spec.name, note, (m) => ctx.session.verbose(m));
  });
  const bounds = `${a['min-block'] !== undefined ? `, blocks >= ${a['min-block']}` : ''}${a['max-block'] !== undefined ? `, blocks <= ${a['max-block']}` : ''}`;
  ctx.ready(`Tracing off-CPU time (us) by ${whichStacks(so)} stacks, ${stateLetters(state)}${bounds}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

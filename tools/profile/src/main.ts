#!/usr/bin/env node
/**
 * profile: user space. The kernel side (bpf/profile.bpf.c) samples stacks on every CPU and counts
 * them; src/trace.ts sets it up (the same setup() the typed API start() uses); libs/stacks names
 * and prints them.
 */
import { runTool, note } from '@bpf-recipes/cli';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { checkInterval, jsonStack, missedNotes, parseInterval, parseStackArgs, whichStacks } from '@bpf-recipes/stacks';
import { StackWriter } from '@bpf-recipes/stacks/writer';
import { profileConfig, setup } from './trace.js';
import { spec, type ProfileArgs } from './spec.js';

void runTool<ProfileArgs>(spec, (ctx) => {
  const a = ctx.args;
  const so = parseStackArgs(a);
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  checkInterval(so, intervalS);
  const config = profileConfig({
    frequency: a.frequency,
    kernel: so.kernel,
    user: so.user,
    includeIdle: a['include-idle'],
    stackStorageSize: so.storage,
    perProcess: so.perProcess,
  });
  // -o: the file is created once the arguments are known good, before anything is attached
  const writer = new StackWriter({ tool: spec.name, options: so, stdout: ctx.out, countName: 'samples', sampleType: 'samples', unit: 'count' });
  writer.open();
  const sampler = setup(ctx.session, config, note);
  const startedAt = Date.now();
  let lastPrint = startedAt;

  const print = () => {
    const now = Date.now();
    const rows = sampler.table.take();
    const m = sampler.missed.sinceLastCall();
    if (so.json) {
      writer.lines.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : { duration_s: Math.round(now - startedAt) / 1000 }),
        frequency_hz: config.frequency,
        cpus: sampler.cpus.length,
        samples: rows.reduce((n, r) => n + r.count, 0),
        stacks: rows.map((r) => jsonStack(r)),
        missed: m,
      }));
      writer.lines.flush();
    } else {
      writer.write(rows, { name: `profile -F ${config.frequency}`, startMs: startedAt, durationMs: now - startedAt }, intervalS !== undefined ? intervalHeader(now) : undefined);
    }
    for (const line of missedNotes(spec.name, m, sampler.countsMax, 'samples')) note(line);
    lastPrint = now;
  };

  // name new stacks every second: a process that exits before the end keeps its names
  ctx.every(1000, () => sampler.table.nameNew());
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(print);
  const n = sampler.cpus.length;
  ctx.ready(`Tracing ${whichStacks(so)} stacks: sampling ${n} CPU${n === 1 ? '' : 's'} at ${config.frequency} Hz${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

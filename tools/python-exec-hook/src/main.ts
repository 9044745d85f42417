#!/usr/bin/env node
/** python-exec-hook: user space. The kernel side (bpf/python-exec-hook.bpf.c) reports execs of Python-named binaries. */
import { spawn, type ChildProcess } from 'node:child_process';
import { note, parseIntArg, runTool } from '@bpf-recipes/cli';
import { decodeEvent } from './generated/python-exec-hook.js';
import { commandFor } from './match.js';
import { register } from './metrics.js';
import { spec, type PyExecArgs } from './spec.js';
import { PythonProcesses, setup, startTime } from './trace.js';

void runTool<PyExecArgs>(spec, (ctx) => {
  const a = ctx.args;
  const parallel = a.parallel === undefined ? 4 : parseIntArg('parallel', a.parallel, 'a number of commands (1 or more)', 1, 4096);
  if (a.exec !== undefined) commandFor(a.exec, 1); // usage errors now, not at the first PID
  const { skel, re } = setup(ctx.session, { match: a.match }, { metrics: Boolean(ctx.metrics) });
  if (ctx.metrics) register(ctx.metrics, skel);

  const running = new Set<ChildProcess>();
  const queue: { pid: number; start: number | undefined }[] = [];
  let started = 0;
  let failed = 0;
  let skipped = 0;

  const runNext = () => {
    while (a.exec !== undefined && running.size < parallel && queue.length) {
      const { pid, start } = queue.shift()!;
      // the process may be gone (or its PID taken by another) while its command waited its turn
      if (start === undefined || startTime(pid) !== start) {
        skipped++;
        note(`python-exec-hook: --exec: PID ${pid} exited before its command could start: skipped`);
        continue;
      }
      const argv = commandFor(a.exec, pid);
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
      started++;
      running.add(child);
      child.on('error', (e) => {
        failed++;
        note(`python-exec-hook: --exec: cannot run ${argv[0]}: ${e.message}`);
      });
      child.on('close', (code) => {
        if (code !== 0 && code !== null) failed++;
        running.delete(child);
        runNext();
      });
    }
  };

  const procs = new PythonProcesses(re, ctx.clock, (pid, start, record) => {
    if (a.exec !== undefined) {
      ctx.verbose(`PID ${pid}`);
      queue.push({ pid, start });
      runNext();
    } else if (a.json) ctx.out.line(JSON.stringify(record()));
    else ctx.out.line(String(pid));
  });
  ctx.follow(skel.maps.events, (b, off) => procs.event(decodeEvent(b, off)));
  if (a['include-existing']) procs.existing(ctx.session);
  ctx.every(30000, () => procs.prune());

  ctx.beforeExit(async () => {
    if (running.size === 0) return;
    for (const c of running) c.kill('SIGTERM');
    const deadline = Date.now() + 10000;
    while (running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of running) c.kill('SIGKILL');
  });
  ctx.onStop(() => {
    if (a.exec !== undefined) note(`python-exec-hook: ran ${started} command${started === 1 ? '' : 's'}${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped (the process had exited)` : ''}${queue.length ? `, ${queue.length} never started` : ''}`);
  });
  ctx.ready(`Tracing execs of Python (${re.source})... Hit Ctrl-C to end.`);
});

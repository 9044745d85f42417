#!/usr/bin/env node
/** python-exec-hook: user space. The kernel side (bpf/python-exec-hook.bpf.c) reports execs of Python-named binaries. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroup2Mount, commonConfig, note, parseIntArg, runTool } from '@bpf-recipes/cli';
import { decodeText } from '@bpf-recipes/core';
import { isoTime, jsonFields, jsonListFields } from '@bpf-recipes/format';
import { decodeEvent, rodata } from './generated/python-exec-hook.js';
import { existingAllowed, type ExistingFilter } from './existing.js';
import { commandFor, compileMatch, literalPrefix } from './match.js';
import { spec, type PyExecArgs } from './spec.js';

const EXIT = 1;

void runTool<PyExecArgs>(spec, (ctx) => {
  const a = ctx.args;
  const re = compileMatch(a.match);
  const prefix = literalPrefix(a.match);
  const parallel = a.parallel === undefined ? 4 : parseIntArg('parallel', a.parallel, 'a number of commands (1 or more)', 1, 4096);
  if (a.exec !== undefined) commandFor(a.exec, 1); // usage errors now, not at the first PID
  const obj = ctx.open(fileURLToPath(new URL('../bpf/python-exec-hook.bpf.o', import.meta.url)), rodata, {
    cfg_exe_prefix: prefix,
    cfg_exe_prefix_len: Buffer.byteLength(prefix),
  });
  ctx.loadAndAttach(obj);
  ctx.verbose(prefix ? `kernel prefilter: executable names starting with "${prefix}"` : 'no kernel prefilter: every exec is checked in user space');

  // a process is known by its PID and its start time (/proc/PID/stat): PIDs are reused, and an
  // exit event can be lost (and none comes for a process found by --include-existing)
  const seen = new Map<number, number | undefined>();
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

  const emit = (pid: number, info: () => Record<string, unknown>) => {
    const start = startTime(pid); // undefined: already gone
    if (seen.has(pid) && seen.get(pid) === start) return;
    if (start !== undefined) seen.set(pid, start);
    if (a.exec !== undefined) {
      ctx.verbose(`PID ${pid}`);
      queue.push({ pid, start });
      runNext();
    } else if (a.json) ctx.out.line(JSON.stringify(info()));
    else ctx.out.line(String(pid));
  };

  ctx.follow(obj, 'events', (b, off) => {
    const e = decodeEvent(b, off);
    if (e.kind === EXIT) {
      seen.delete(e.pid);
      return;
    }
    if (!re.test(e.exe)) return;
    emit(e.pid, () => ({
      time: isoTime(ctx.clock.wallMs(e.ts_ns)),
      pid: e.pid,
      ppid: e.ppid,
      uid: e.uid,
      ...jsonFields('comm', e.comm),
      ...jsonFields('exe', readExe(e.pid) ?? e.exe),
      ...jsonFields('filename', e.filename),
      ...argvFields(readArgv(e.pid)),
    }));
  });

  if (a['include-existing']) {
    const cfg = commonConfig(a);
    const filter: ExistingFilter = {
      uid: cfg.cfg_filter_uid ? (cfg.cfg_uid as number) : undefined,
      name: cfg.cfg_comm as string | undefined,
      cgroup: cfg.cfg_cgroup_id === undefined ? undefined : { id: cfg.cfg_cgroup_id as bigint, level: cfg.cfg_cgroup_level as number, mount: cgroup2Mount()! },
    };
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const pid = Number(d);
      const exe = readExe(pid);
      if (!exe || pid === process.pid || !re.test(basename(exe.replace(/ \(deleted\)$/, ''))) || !existingAllowed(pid, filter)) continue;
      emit(pid, () => ({ time: isoTime(Date.now()), pid, ppid: readPpid(pid), uid: readUid(pid), ...jsonFields('comm', readComm(pid)), ...jsonFields('exe', exe), filename: null, ...argvFields(readArgv(pid)), existing: true }));
    }
  }

  // forget processes that are gone (their exit event is not always seen)
  ctx.every(30000, () => {
    for (const [pid, start] of seen) if (startTime(pid) !== start) seen.delete(pid);
  });

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

/** Start time of a process (clock ticks after boot, /proc/PID/stat field 22), or undefined if it is gone. */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// names from /proc are bytes: decodeText keeps those that are not UTF-8 (jsonFields then adds <key>_b64)
function readExe(pid: number): string | undefined {
  try {
    return decodeText(readlinkSync(`/proc/${pid}/exe`, { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
}

function readArgv(pid: number): string[] | null {
  try {
    const raw = decodeText(readFileSync(`/proc/${pid}/cmdline`));
    return raw ? raw.replace(/\0$/, '').split('\0') : null;
  } catch {
    return null; // already gone
  }
}

function readStatus(pid: number, field: string): string | undefined {
  try {
    return new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
// declarations, not consts: --include-existing calls them before the end of the module has run
function readPpid(pid: number): number {
  return Number(readStatus(pid, 'PPid') ?? 0);
}
function readUid(pid: number): number {
  return Number(readStatus(pid, 'Uid') ?? 0);
}
function readComm(pid: number): string {
  try {
    return decodeText(readFileSync(`/proc/${pid}/comm`)).replace(/\n$/, '');
  } catch {
    return '';
  }
}
// a declaration, not a const: --include-existing calls it before the end of the module has run
function argvFields(argv: string[] | null) {
  return argv ? jsonListFields('argv', argv) : { argv: null };
}

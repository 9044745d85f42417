/**
 * python-exec-hook's tracing, as a library: the command (main.ts) and the typed API (trace()) run
 * this same code. The kernel side is bpf/python-exec-hook.bpf.c (execs whose executable's name
 * passes a prefix); the full --match regex, the once-per-process rule and --include-existing are
 * here. Event, PyexecKind and the skeleton are generated from its BTF and header.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { cgroup2Mount, eventStream, sessionOptions, type CommonTraceOptions, type Counting, type EventStream, type Session } from '@bpf-recipes/runtime';
import { UsageError, decodeText } from '@bpf-recipes/core';
import { Clock, isoTime, jsonFields, jsonListFields } from '@bpf-recipes/format';
import { PyexecKind, PyexecTail, PythonExecHookSkel, decodeEvent, type Event } from './generated/python-exec-hook.js';
import { existingAllowed, type ExistingFilter } from './existing.js';
import { compileMatch, kernelMatch, literalPrefix } from './match.js';

/** The command's options that decide what is reported (`--match`, `--include-existing`, `-u`, `-n`, `-c`), typed. */
export interface PythonExecOptions extends Omit<CommonTraceOptions, 'pid' | 'tid'> {
  /** regex on the name of the executable running (default ^python[0-9.]*$) (`--match`) */
  match?: string;
  /** also the matching processes already running at start, first (`--include-existing`) */
  includeExisting?: boolean;
}

/** One new Python process, as `python-exec-hook --json` prints it (`<key>_b64` only when not UTF-8). */
export interface PythonExecRecord {
  /** ISO 8601, ms: the exec (now, for one found running) */
  time: string;
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  comm_b64?: string;
  /** the executable running (/proc/PID/exe; the kernel's name of it once the process is gone) */
  exe: string;
  exe_b64?: string;
  /** the path given to execve (the script, for a #! script); null for one found running */
  filename: string | null;
  filename_b64?: string;
  /** its command line, null once the process is gone */
  argv: string[] | null;
  argv_b64?: string[];
  /** found running at start (includeExisting) */
  existing?: true;
}

/** Open, configure, load and attach python-exec-hook's object on a session: events wait in skel.maps.events. */
export function setup(
  session: Session,
  o: Pick<PythonExecOptions, 'match'>,
  /** count in the kernel for --metrics (execs); events: false sends none (the exporter) */
  counting: Counting = {},
): { skel: PythonExecHookSkel; re: RegExp } {
  const re = compileMatch(o.match);
  const prefix = literalPrefix(o.match);
  // counted in the kernel: the kernel must make the whole match, not only the prefilter
  const whole = counting.metrics ? kernelMatch(o.match) : undefined;
  if (counting.metrics && !whole) {
    throw new UsageError(`--metrics: Python execs are counted in the kernel, which matches ^NAME, ^NAME$ or ^NAME[0-9.]*$ (NAME literal, at most 15 bytes): --match '${o.match}' is none of these`);
  }
  const skel = session.open(PythonExecHookSkel, new URL('../bpf/python-exec-hook.bpf.o', import.meta.url), {
    cfg_exe_prefix: whole?.prefix ?? prefix,
    cfg_exe_prefix_len: Buffer.byteLength(whole?.prefix ?? prefix),
    cfg_exe_tail: whole?.tail ?? PyexecTail.PYEXEC_TAIL_ANY,
  }, counting);
  session.loadAndAttach(skel);
  session.verbose(prefix ? `kernel prefilter: executable names starting with "${prefix}"` : 'no kernel prefilter: every exec is checked in user space');
  return { skel, re };
}

/**
 * Each Python process once: a process is known by its PID and its start time (/proc/PID/stat),
 * since PIDs are reused and an exit event can be lost (and none comes for a process found by
 * --include-existing). `onProcess` gets the PID, its start time, and the record, built on demand.
 */
export class PythonProcesses {
  private readonly seen = new Map<number, number | undefined>();

  constructor(
    private readonly re: RegExp,
    private readonly clock: Clock,
    private readonly onProcess: (pid: number, start: number | undefined, record: () => PythonExecRecord) => void,
  ) {}

  /** a ring-buffer record of the object */
  event(e: Event): void {
    if (e.kind === PyexecKind.PYEXEC_EXIT) {
      this.seen.delete(e.pid);
      return;
    }
    if (!this.re.test(e.exe)) return;
    this.report(e.pid, () => ({
      time: isoTime(this.clock.wallMs(e.ts_ns)),
      pid: e.pid,
      ppid: e.ppid,
      uid: e.uid,
      ...(jsonFields('comm', e.comm) as { comm: string }),
      ...(jsonFields('exe', readExe(e.pid) ?? e.exe) as { exe: string }),
      ...(jsonFields('filename', e.filename) as { filename: string }),
      ...argvFields(readArgv(e.pid)),
    }));
  }

  /** the matching processes running now that the session's filters (-u, -n, -c) allow */
  existing(session: Session, selfPid = process.pid): void {
    const f = session.options.filters ?? {};
    const filter: ExistingFilter = {
      uid: f.uid,
      name: f.comm,
      cgroup: f.cgroup === undefined ? undefined : { id: BigInt(f.cgroup.id), level: f.cgroup.level, mount: cgroup2Mount()! },
    };
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const pid = Number(d);
      const exe = readExe(pid);
      if (!exe || pid === selfPid || !this.re.test(basename(exe.replace(/ \(deleted\)$/, ''))) || !existingAllowed(pid, filter)) continue;
      this.report(pid, () => ({
        time: isoTime(Date.now()), pid, ppid: readPpid(pid), uid: readUid(pid), ...(jsonFields('comm', readComm(pid)) as { comm: string }),
        ...(jsonFields('exe', exe) as { exe: string }), filename: null, ...argvFields(readArgv(pid)), existing: true,
      }));
    }
  }

  /** forget processes that are gone (their exit event is not always seen) */
  prune(): void {
    for (const [pid, start] of this.seen) if (startTime(pid) !== start) this.seen.delete(pid);
  }

  private report(pid: number, record: () => PythonExecRecord): void {
    const start = startTime(pid); // undefined: already gone
    if (this.seen.has(pid) && this.seen.get(pid) === start) return;
    if (start !== undefined) this.seen.set(pid, start);
    this.onProcess(pid, start, record);
  }
}

/**
 * New Python processes as they start: `for await (const p of trace({ includeExisting: true }))`.
 * Throws PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: PythonExecOptions = {}): EventStream<PythonExecRecord> {
  const clock = new Clock();
  return eventStream<PythonExecRecord>(sessionOptions('python-exec-hook', options), (session, emit) => {
    const { skel, re } = setup(session, options);
    const procs = new PythonProcesses(re, clock, (_pid, _start, record) => emit(record()));
    session.follow(skel.maps.events, (b, off) => procs.event(decodeEvent(b, off)));
    if (options.includeExisting) procs.existing(session);
    const prune = setInterval(() => (session.isClosed ? clearInterval(prune) : procs.prune()), 30000);
    prune.unref();
  });
}

/** Start time of a process (clock ticks after boot, /proc/PID/stat field 22), or undefined if it is gone. */
export function startTime(pid: number): number | undefined {
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
function argvFields(argv: string[] | null): { argv: string[] | null; argv_b64?: string[] } {
  return argv ? (jsonListFields('argv', argv) as { argv: string[] }) : { argv: null };
}

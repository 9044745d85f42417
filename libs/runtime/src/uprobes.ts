/**
 * Attaching entry/return uprobe pairs to code that may be running already (see recipes.h, "Calls
 * into user-space functions"). A call that enters after its entry probe but before its return
 * probe would leave a per-thread record nobody clears: so the thread-exit cleanup goes first, then
 * every return probe, and the entry probes last. A call caught half-way is then either not seen at
 * all, or seen returning without a record (ignored).
 *
 * The one place the uprobe tools (gethostlatency, sslsnoop) decide where to attach: a library by
 * soname — the system's copy, or with PIDs each process's own (/proc/PID/maps, opened through
 * /proc/PID/root so a container's own copy is the one probed) — and files given by path; and what
 * happens when something is missing: a file given by path that does not exist is a usage error; a
 * library that is required and absent stops the tool (PreflightError with the tool's hint), one
 * that is optional is skipped with a -v note; a symbol a library lacks is skipped with a -v note;
 * nothing probed at all stops the tool.
 */
import { existsSync } from 'node:fs';
import { BpfError, PreflightError, SystemLibraries, UsageError, commandFiles, findProcessLibrary, findSystemLibrary, libraryAmong, type BpfObject, type Program } from '@bpf-recipes/core';

/** A program of the object: from its skeleton (`skel.progs.x`), or its name. */
type ProgramRef = Program | string;
const progName = (p: ProgramRef) => (typeof p === 'string' ? p : p.name);

export interface UprobeCall {
  /** the ELF file (library or executable) */
  binary: string;
  /** only this process (-1: all) */
  pid: number;
  /** the function's symbol */
  func: string;
  /** entry (uprobe) program */
  entry: ProgramRef;
  /** return (uretprobe) program */
  ret: ProgramRef;
  /** read by the entry program with bpf_get_attach_cookie() */
  cookie?: number;
}

/** One function to probe in each file of its library. */
export interface UprobeFunction {
  func: string;
  entry: ProgramRef;
  ret: ProgramRef;
  cookie?: number;
}

/** Where a tool's functions are: libraries by soname, files by path, for all processes or some. */
export interface UprobePlan {
  /**
   * Libraries looked up by soname prefix (the first of `sonames` found wins): the system's copy,
   * or with `pids`, the one each process has mapped. `required`: the message of the PreflightError
   * thrown when it is absent (pid -1: from the system); without it, skipped with a -v note.
   */
  libraries?: { name: string; sonames: readonly string[]; required?: (pid: number) => string }[];
  /**
   * Files given by path (e.g. --libc, --binary), probed as the library `name`: `option` names it
   * in the usage error when the file does not exist.
   */
  binaries?: { path: string; option: string; name: string }[];
  /** only these processes (each one's own libraries); empty or undefined: every process, the system's libraries */
  pids?: readonly number[];
  /**
   * `-- COMMAND` (its argv[0]): also the copies of the libraries the command will map (its own
   * RPATH, LD_LIBRARY_PATH...), and its program itself for a library it does not link to (linked
   * in statically, as node has OpenSSL): attached before it runs, for every process (the traced set
   * keeps the events to the command's)
   */
  command?: string;
}

/** A file to probe: for one process (pid) or all (-1), as library `library` of the plan. */
export interface UprobeFile { binary: string; pid: number; library: string }

/**
 * The files a plan names (UsageError for a file given by path that does not exist, PreflightError
 * for a required library that is absent). Call it before opening anything: nothing to undo.
 */
export function findUprobeFiles(plan: UprobePlan, verbose: (m: string) => void): UprobeFile[] {
  for (const b of plan.binaries ?? []) if (!existsSync(b.path)) throw new UsageError(`${b.option}: ${b.path} does not exist`);
  const pids = plan.pids?.length ? plan.pids : [-1];
  const files: UprobeFile[] = [];
  const system = new SystemLibraries(); // one ldconfig listing for every name of this plan
  const command = plan.command === undefined ? undefined : commandFiles(plan.command);
  for (const lib of plan.libraries ?? []) {
    // the command's own copy, or its program when it does not link to the library
    const own = command && (lib.sonames.map((s) => libraryAmong(command.libraries, s)).find(Boolean) ?? command.program);
    for (const pid of pids) {
      const path = lib.sonames.map((s) => (pid > 0 ? findProcessLibrary(pid, s) : findSystemLibrary(s, system))).find(Boolean);
      if (path) files.push({ binary: path, pid, library: lib.name });
      else if (lib.required && !own) throw new PreflightError(lib.required(pid));
      else verbose(`no ${lib.name} library ${pid > 0 ? `in PID ${pid}` : 'on this system'} (${lib.sonames.join(', ')})`);
    }
    if (own && !files.some((f) => f.pid === -1 && f.binary === own)) {
      verbose(`${lib.name}: also ${own}, which ${plan.command} will map`);
      files.push({ binary: own, pid: -1, library: lib.name });
    }
  }
  for (const b of plan.binaries ?? []) for (const pid of pids) files.push({ binary: b.path, pid, library: b.name });
  return files;
}

/**
 * Attach each file's functions (`funcs` of its library) with attachUprobeCalls(); `none` is the
 * PreflightError's message when not one function could be probed. Returns the calls attached.
 */
export function attachUprobes(
  obj: BpfObject,
  files: readonly UprobeFile[],
  funcs: (library: string) => readonly UprobeFunction[],
  opts: { verbose: (m: string) => void; none: string },
): UprobeCall[] {
  const calls = files.flatMap((f) => funcs(f.library).map((u) => ({ binary: f.binary, pid: f.pid, func: u.func, entry: u.entry, ret: u.ret, ...(u.cookie !== undefined && { cookie: u.cookie }) })));
  const attached = attachUprobeCalls(obj, calls, opts.verbose);
  if (attached.length === 0) throw new PreflightError(opts.none);
  return attached;
}

/**
 * Attach the object's tracepoint programs (the RECIPES_UCALL_CLEANUP ones among them), then the
 * return probe of every call, then the entry probes. A function that cannot be probed (missing
 * symbol, stripped library) is skipped with a -v note; returns the calls attached.
 */
export function attachUprobeCalls(obj: BpfObject, calls: UprobeCall[], verbose: (m: string) => void): UprobeCall[] {
  const cleanup = obj.attachAll();
  if (!cleanup.some((p) => p.endsWith('_thread_exit'))) throw new PreflightError(`${obj.path} has no per-thread cleanup program (RECIPES_UCALL_CLEANUP)`);
  verbose(`attached ${cleanup.join(', ')}`);
  const where = (c: UprobeCall) => `${c.func} in ${c.binary}${c.pid > 0 ? ` (PID ${c.pid})` : ''}`;
  const skip = (c: UprobeCall, e: unknown) => {
    if (!(e instanceof BpfError)) throw e;
    verbose(`skipping ${where(c)}: ${e.message}`);
  };
  const returns = calls.filter((c) => {
    try {
      obj.attachUprobe(progName(c.ret), { binary: c.binary, func: c.func, pid: c.pid, retprobe: true });
      return true;
    } catch (e) {
      skip(c, e);
      return false;
    }
  });
  // a return probe left without its entry probe sees no record and reports nothing
  return returns.filter((c) => {
    try {
      obj.attachUprobe(progName(c.entry), { binary: c.binary, func: c.func, pid: c.pid, cookie: c.cookie });
      verbose(`attached ${where(c)}`);
      return true;
    } catch (e) {
      skip(c, e);
      return false;
    }
  });
}

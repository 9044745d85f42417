/**
 * `TOOL [options] -- COMMAND [ARGS...]`: run a command and trace it, and everything it starts, from
 * its execve to the exit of its last process.
 *
 * The command's process is started at once, held before its exec: a /bin/sh that says it is ready on
 * fd 3 and waits there for the word to go (its stdin, stdout and stderr are the tool's: the command
 * keeps the terminal). Once every program is attached, the session puts the process in the kernel's
 * set of traced processes as held (Session.traceCommand), and the shell execs the command: the
 * kernel turns the process on at that exec (recipes_traced.h), so what the shell did before is never
 * seen and the command is seen from its execve on. The shell looks the command up in PATH itself
 * (failed execve attempts happen while it is still held); the tool checks first that it can be
 * found, so a missing command is one line and exit 127, one that cannot be run exit 126, as with
 * env(1) and timeout(1). With --user, setpriv(1) starts the shell as that user (uid, gid and
 * groups), before the shell says it is ready.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { RecipesError, UsageError } from '@bpf-recipes/core';
import type { Session } from './session.js';

/** The command cannot be run: exit 127 (not found) or 126 (found, not runnable), as env(1) has it. */
export class CommandError extends RecipesError {
  override readonly name = 'CommandError';
  override readonly exitCode: number;
  constructor(message: string, exitCode: 126 | 127) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** How the command ended: its exit code, or the signal that killed it. */
export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** as a shell reports it: the exit code, or 128 + the signal's number */
  status: number;
}

/** What `-- COMMAND` asks for (the command line's `--no-follow` and `--user`, the API's options). */
export interface CommandOptions {
  /** the command and its arguments (looked up in PATH unless it has a slash) */
  argv: string[];
  /** trace only the command's own process, not the processes it starts */
  noFollow?: boolean;
  /** run it as this user (name or number): its uid, gid and supplementary groups */
  user?: string;
}

// child_process (and the stream and socket modules behind it, ~10 ms of every start) is loaded only
// when a command is run or a user looked up, not by every tool that links this module
const childProcess = () => createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

const cannotRun = (name: string, why: string, code: 126 | 127) => new CommandError(`cannot run '${name}': ${why}`, code);

/**
 * Where the shell will find `name` (PATH lookup, as a shell does it); a CommandError (127 or 126)
 * when it would not run.
 */
export function resolveCommand(name: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string {
  if (name === '') throw cannotRun(name, 'No such file or directory', 127);
  const check = (file: string): 'ok' | 'missing' | 'denied' | 'directory' => {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
    }
    if (st.isDirectory()) return 'directory';
    try {
      accessSync(file, fsConstants.X_OK);
      return st.isFile() ? 'ok' : 'denied';
    } catch {
      return 'denied';
    }
  };
  if (name.includes('/')) {
    const r = check(name);
    if (r === 'ok') return name;
    if (r === 'missing') throw cannotRun(name, 'No such file or directory', 127);
    throw cannotRun(name, r === 'directory' ? 'Is a directory' : 'Permission denied', 126);
  }
  let denied = false;
  for (const dir of path.split(':')) {
    const file = join(dir || '.', name);
    const r = check(file);
    if (r === 'ok') return file;
    if (r === 'denied') denied = true;
  }
  throw denied ? cannotRun(name, 'Permission denied', 126) : cannotRun(name, 'No such file or directory', 127);
}

/**
 * `-- COMMAND`, --no-follow and --user as the session takes them (undefined without a command).
 * Checked before anything starts: a usage error (exit 2), or a command that cannot run (127, 126).
 */
/** The command line's words on running a command (`-- COMMAND`, --no-follow, --user). */
export interface CommandArgs {
  command?: string[];
  'no-follow'?: boolean;
  user?: string;
}

export function commandOptions(a: CommandArgs): CommandOptions | undefined {
  if (a.command === undefined) {
    if (a['no-follow']) throw new UsageError('--no-follow goes with a command: give it after --');
    if (a.user !== undefined) throw new UsageError('--user goes with a command: give it after --');
    return undefined;
  }
  if (a.command.length === 0) throw new UsageError('give the command to run after --');
  if (a.user !== undefined) userIds(a.user);
  resolveCommand(a.command[0]);
  return { argv: a.command, noFollow: Boolean(a['no-follow']), ...(a.user !== undefined && { user: a.user }) };
}

/** A user's uid and primary gid (--user NAME or a number), from the system's user database. */
export function userIds(user: string): { uid: number; gid: number } {
  const ask = (flag: string) => {
    try {
      return Number(childProcess().execFileSync('id', [flag, '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      throw new UsageError(`--user: no user '${user}' on this machine (give a name from /etc/passwd or a uid)`);
    }
  };
  return { uid: ask('-u'), gid: ask('-g') };
}

/**
 * The shell that holds the command: it says it is ready (x on fd 3), waits for the word (a line on
 * fd 3; end of file: the tool is gone, so it exits 125 without running anything), closes fd 3 and
 * execs the command.
 */
const HOLD = 'printf x >&3 && read -r _ <&3 || exit 125; exec 3<&-; exec "$@"';

/** A signal's number (SIGINT → 2). */
export function signalNumber(sig: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[sig] ?? 0;
}

/** The process group of a process and its terminal's foreground group (from /proc/PID/stat). */
function groups(pid: number | 'self'): { pgrp: number; tpgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the comm, which may hold spaces and parentheses
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(f[2]), tpgid: Number(f[5]) };
  } catch {
    return undefined;
  }
}

/**
 * Did a signal of this kind reach `pids` from the terminal already? Ctrl-C (SIGINT) and a hangup
 * (SIGHUP) go to the terminal's whole foreground process group: when this process is in that group,
 * the processes of its group got the signal as it did. Returns the pids that did not.
 */
export function notReachedByTerminal(sig: NodeJS.Signals, pids: number[]): number[] {
  if (sig !== 'SIGINT' && sig !== 'SIGHUP') return pids;
  const self = groups('self');
  if (!self || self.tpgid !== self.pgrp) return pids;
  return pids.filter((p) => groups(p)?.pgrp !== self.pgrp);
}

/** Is this process in its terminal's foreground process group (Ctrl-C reaches its whole group)? */
export function inForegroundGroup(): boolean {
  const self = groups('self');
  return Boolean(self && self.pgrp > 0 && self.tpgid === self.pgrp);
}

/** The command, started held before its exec. */
export class TracedCommand {
  readonly pid: number;
  /** how it ended (the command's own process; the tool also waits for what it started) */
  readonly exited: Promise<CommandExit>;
  exit: CommandExit | undefined;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private state: 'held' | 'released' | 'gone' = 'held';

  private constructor(readonly options: CommandOptions, child: ChildProcess) {
    this.child = child;
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        const status = code ?? 128 + (signal ? signalNumber(signal) : 0);
        this.exit = { code, signal, status };
        this.state = 'gone';
        resolve(this.exit);
      });
    });
    const fd3 = child.stdio[3] as Duplex;
    this.ready = new Promise((resolve, reject) => {
      let said = false;
      fd3.once('data', () => {
        said = true;
        resolve();
      });
      fd3.on('error', () => {
        /* the shell went away: exit tells */
      });
      void this.exited.then((x) => {
        if (!said) reject(new RecipesError(`cannot run '${options.argv[0]}': its holding shell exited with status ${x.status} before it started`));
      });
    });
    // a rejection nobody waits for (the tool failed before release) is not an error of its own
    this.ready.catch(() => undefined);
  }

  /**
   * Check that the command can run (CommandError 127/126, UsageError for --user) and start it held.
   * Nothing of it runs until release().
   */
  static start(options: CommandOptions, tool: string): TracedCommand {
    if (options.argv.length === 0) throw new UsageError('give the command to run after --');
    resolveCommand(options.argv[0]);
    const sh = ['-c', HOLD, tool, ...options.argv];
    let file = '/bin/sh';
    let args = sh;
    if (options.user !== undefined) {
      const { uid, gid } = userIds(options.user);
      file = 'setpriv';
      args = ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', '/bin/sh', ...sh];
    }
    const child = childProcess().spawn(file, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
    if (child.pid === undefined) {
      // spawn reports a missing file asynchronously; without a pid nothing started
      child.on('error', () => undefined);
      throw new RecipesError(options.user !== undefined ? '--user needs setpriv (util-linux): apt-get install util-linux' : 'cannot start /bin/sh to hold the command');
    }
    return new TracedCommand(options, child);
  }

  get released(): boolean {
    return this.state !== 'held';
  }

  /**
   * Every program is attached: put the held process in the session's traced set and let it exec.
   * Resolves once the word is given (the command may still be starting).
   */
  async release(session: Session): Promise<void> {
    await this.ready;
    if (this.state !== 'held') return;
    session.traceCommand(this.pid);
    this.state = 'released';
    const fd3 = this.child.stdio[3] as Duplex;
    fd3.end('\n');
  }

  /**
   * When the command and every process it started have exited: its exit, after the last of them
   * (checked every `pollMs` once the command's own process has gone).
   */
  async ended(session: Session, pollMs = 10): Promise<CommandExit> {
    const exit = await this.exited;
    while (!session.isClosed && !session.commandEnded()) await new Promise((r) => setTimeout(r, pollMs));
    return exit;
  }

  /**
   * Pass a signal on to the command's processes (every traced one: nothing it started outlives a
   * forwarded Ctrl-C unless it ignores it), but not to those the terminal gave it to already.
   * Returns how many were sent it.
   */
  forward(session: Session, sig: NodeJS.Signals): number {
    if (this.state === 'gone' && session.isClosed) return 0;
    const all = this.state === 'held' || session.isClosed ? [this.pid] : session.tracedProcesses();
    let n = 0;
    for (const pid of notReachedByTerminal(sig, all)) {
      try {
        process.kill(pid, sig);
        n++;
      } catch {
        /* gone meanwhile */
      }
    }
    return n;
  }

  /** The tool ends before the command was let go: the held shell goes, nothing of the command ran. */
  abandon(): void {
    if (this.state !== 'held') return;
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

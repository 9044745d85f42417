/**
 * Differential tests: a tool and an independent oracle (strace, libbpf-tools, /sys/block/DEV/stat,
 * the workload's own report) observe the same workload run, and the test compares them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A process whose output is collected, with a way to wait for a line or a pattern. */
export interface Watched {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** resolves when stdout+stderr match */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function watch(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}): Watched {
  const proc = spawn(cmd, args, { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  proc.stdout!.on('data', (d: Buffer) => ((out += d.toString()), wake()));
  proc.stderr!.on('data', (d: Buffer) => ((err += d.toString()), wake()));
  let done = false;
  const exited = new Promise<number | null>((res) => proc.on('close', (code) => ((done = true), wake(), res(code))));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, timeoutMs = 20000) =>
      new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`${cmd}: timed out waiting for ${re}\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const check = () => {
          if (re.test(out + err)) return clearTimeout(t), res();
          if (done) return clearTimeout(t), rej(new Error(`${cmd} exited while waiting for ${re}\nstdout:\n${out}\nstderr:\n${err}`));
          waiters.push(check);
        };
        check();
      }),
  };
}

/** Stop a watched process with SIGINT (how libbpf-tools and strace end cleanly) and wait for it. */
export async function interrupt(w: Watched): Promise<number | null> {
  if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGINT');
  return w.exited;
}

/**
 * A libbpf-tools command (Debian package libbpf-tools, /usr/sbin), copied to a private directory.
 * This project's .deb test (tools/bpf-recipes/test/ship.priv.test.ts, under CI) installs
 * bpf-recipes, which replaces libbpf-tools' commands of the same names, and puts libbpf-tools back
 * afterwards: while it runs, this waits (up to waitMs) for them to return. Returns the copy's path,
 * or throws naming the package to install.
 */
export async function libbpfTool(name: string, waitMs = 240000): Promise<string> {
  const src = `/usr/sbin/${name}`;
  const ours = () => spawnSync('dpkg-query', ['-W', '-f=${Status}', 'bpf-recipes'], { encoding: 'utf8' }).stdout?.includes('install ok installed')
    || existsSync('/etc/apt/sources.list.d/bpf-recipes-test.list');
  const theirs = () => existsSync(src) && (spawnSync('dpkg-query', ['-S', src], { encoding: 'utf8' }).stdout ?? '').startsWith('libbpf-tools:');
  const end = Date.now() + waitMs;
  while (!theirs() && ours() && Date.now() < end) await new Promise((r) => setTimeout(r, 2000));
  if (!theirs()) throw new Error(`${src} from libbpf-tools is needed as the oracle: apt-get install libbpf-tools (scripts/packages.txt lists it)`);
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-peer-'));
  const copy = join(dir, name);
  copyFileSync(src, copy);
  const help = spawnSync(copy, ['--help'], { encoding: 'utf8' });
  if (!/iovisor\/bcc/.test(help.stdout + help.stderr)) throw new Error(`${src} is not libbpf-tools' ${name}`);
  return copy;
}

/** strace -c's table (from -o FILE): syscall name -> calls and errors. */
export function parseStraceCounts(text: string): Map<string, { count: number; errors: number }> {
  const out = new Map<string, { count: number; errors: number }>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (f.length < 5 || !/^\d+\.\d+$/.test(f[0]) || !/^\d+$/.test(f[3])) continue;
    const name = f[f.length - 1];
    if (name === 'total') continue;
    out.set(name, { count: Number(f[3]), errors: f.length === 6 ? Number(f[4]) : 0 });
  }
  return out;
}

export interface StraceCall {
  pid: number;
  name: string;
  args: string;
  /** the return value (-1 on failure, as strace prints it) */
  ret: number;
  /** the errno name on failure (ENOENT), else undefined */
  errno?: string;
}

/**
 * Complete syscall lines of `strace -o FILE` (under -f or -ff with one file each line begins with
 * the pid: pidColumn true; for a single traced process it does not, and pid is 0).
 */
export function parseStraceCalls(file: string, opts: { pidColumn?: boolean } = {}): StraceCall[] {
  const calls: StraceCall[] = [];
  const re = opts.pidColumn === false
    ? /^()(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+))?/
    : /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+))?/;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = re.exec(line);
    if (!m || m[4] === '?') continue;
    calls.push({ pid: Number(m[1] || 0), name: m[2], args: m[3], ret: Number(m[4]), errno: m[5] });
  }
  return calls;
}

/** Copy a binary under a name no other process has, so a comm filter matches this run only. */
export function uniquelyNamed(bin: string, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-named-'));
  const name = `${prefix}${Math.random().toString(36).slice(2, 8)}`.slice(0, 15);
  const copy = join(dir, name);
  copyFileSync(bin, copy);
  spawnSync('chmod', ['755', copy]);
  return copy;
}

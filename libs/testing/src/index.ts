/**
 * Privileged-test helpers. A privileged test runs a real tool binary against the real kernel.
 * Outside CI it may skip (with the reason) where BPF is unavailable; under CI=true it must fail.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { hasBpfPrivileges } from '@bpf-recipes/core';
import { repoRoot } from './fixture.js';


/** Why BPF tests cannot run here, or undefined when they can. */
export function bpfUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (!hasBpfPrivileges()) return 'not root (no CAP_BPF/CAP_PERFMON)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF';
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
  } catch {
    return 'bpftool is not installed';
  }
  return undefined;
}

/**
 * For describe.skipIf(): true means skip. Under CI=true it never skips: it throws, so the
 * suite fails loudly instead of passing on a machine that cannot trace.
 */
export function skipPrivileged(): boolean {
  const why = bpfUnavailable();
  if (!why) return false;
  if (process.env.CI === 'true') throw new Error(`privileged tests cannot run under CI=true: ${why}`);
  process.stderr.write(`skipping privileged tests: ${why}\n`);
  return true;
}

/** Path of a tool's built binary (run `npm run build` first). */
export function toolBin(tool: string): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'tools', tool, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = join(repoRoot, 'tools', tool, Object.values(pkg.bin)[0]);
  if (!existsSync(join(repoRoot, 'tools', tool, 'dist', 'src', 'main.js'))) throw new Error(`tools/${tool} is not built: run npm run build`);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build`);
  return bin;
}

/**
 * The tool and its runtime dependencies copied to a world-readable temporary directory, laid out as
 * npm installs them, for a test that runs the tool as another user (e.g. nobody): that user may not
 * reach the checkout at all (a clone under /root, or in a `mktemp -d` directory, is behind a 0700
 * directory). The files are the built ones of the checkout. dispose() removes the copy.
 */
export function toolCopyForAnyUser(tool: string): { bin: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-anyuser-'));
  const copied = new Set<string>();
  const findPackage = (name: string, from: string): string => {
    for (let d = from; ; d = dirname(d)) {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) return realpathSync(p);
      if (dirname(d) === d) throw new Error(`${name} (a dependency of ${from}) is not installed: run npm ci`);
    }
  };
  const copyPackage = (src: string): string => {
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    const dest = join(dir, 'node_modules', pkg.name);
    if (copied.has(pkg.name)) return dest;
    copied.add(pkg.name);
    const workspace = src.startsWith(`${repoRoot}/`) && !src.startsWith(join(repoRoot, 'node_modules'));
    // a workspace package as packed (its build, not its sources); anything else whole
    for (const f of workspace ? ['package.json', 'bin', 'dist'] : ['']) {
      if (existsSync(join(src, f))) cpSync(join(src, f), join(dest, f), { recursive: true, dereference: true });
    }
    for (const dep of Object.keys(pkg.dependencies ?? {})) copyPackage(findPackage(dep, src));
    // those installed for this platform (koffi's native module is one)
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      let found: string | undefined;
      try {
        found = findPackage(dep, src);
      } catch {
        /* not for this platform */
      }
      if (found) copyPackage(found);
    }
    return dest;
  };
  const toolDir = join(repoRoot, 'tools', tool);
  toolBin(tool); // built?
  const dest = copyPackage(toolDir);
  const bin = join(dest, Object.values((JSON.parse(readFileSync(join(toolDir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin)[0]);
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  chmodSync(dir, 0o755);
  return { bin, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningTool {
  proc: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** stdout lines so far */
  lines(): string[];
  /** resolves when a stdout line matches */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** send a signal and wait for the exit */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a tool and wait for its "Tracing" line on stderr. */
/**
 * How many times longer than on a real machine the tests' waits may take (a tool's start, a line,
 * programs freed): BPF_RECIPES_TEST_TIME_SCALE, which the VM lane sets under emulation (4), else 1.
 * A wait that ends early costs nothing, so only failing runs get slower.
 */
export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const x = Number(env.BPF_RECIPES_TEST_TIME_SCALE);
  return Number.isFinite(x) && x >= 1 ? x : 1;
}

/** A wait of `ms` on a real machine, as long as it may take here (timeScale). */
export const scaledMs = (ms: number): number => ms * timeScale();

export async function startTool(tool: string, args: string[] = [], opts: { readyTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunningTool> {
  // the command itself, as a user runs it (its shebang carries the runtime flags)
  const proc = spawn(toolBin(tool), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  proc.stdout!.setEncoding('utf8'); // a character split across two reads stays one character
  proc.stderr!.setEncoding('utf8');
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('close', (code, signal) => res({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters.splice(0)) w();
  });
  const until = (cond: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(t);
          res();
        } else if (done) {
          clearTimeout(t);
          rej(new Error(`${tool} exited while waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`));
        } else waiters.push(check);
      };
      check();
    });
  try {
    await until(() => /^Tracing/m.test(err), `"Tracing" from ${tool}`, opts.readyTimeoutMs ?? scaledMs(20000));
  } catch (e) {
    // not left running (attached later, it would load the machine and count in the next tests)
    if (!done) proc.kill('SIGKILL');
    throw e;
  }
  const lines = () => out.split('\n').filter((l) => l.length > 0);
  return {
    proc,
    pid: proc.pid!,
    stdout: () => out,
    stderr: () => err,
    lines,
    async waitForLine(re, timeoutMs = scaledMs(10000)) {
      await until(() => lines().some((l) => re.test(l)), `a line matching ${re}`, timeoutMs);
      return lines().find((l) => re.test(l))!;
    },
    async stop(signal = 'SIGINT') {
      if (!done) proc.kill(signal);
      return exited;
    },
    exited,
  };
}

/** Run a tool to completion (e.g. with bad input) and capture everything. */
export function runToolSync(tool: string, args: string[], opts: { timeoutMs?: number } = {}) {
  const r = spawnSync(toolBin(tool), args, { encoding: 'utf8', timeout: opts.timeoutMs ?? scaledMs(30000) });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface BpfProg {
  id: number;
  name: string;
  type: string;
}

/** BPF programs loaded in the kernel now whose name starts with `prefix` (names are cut at 15 bytes). */
export function loadedPrograms(prefix: string): BpfProg[] {
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return (JSON.parse(out) as BpfProg[]).filter((p) => (p.name ?? '').startsWith(prefix.slice(0, 15)));
}

/** Wait until no program with this prefix is loaded (the kernel frees them shortly after close). */
export async function waitNoPrograms(prefix: string, timeoutMs = scaledMs(3000)): Promise<BpfProg[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = loadedPrograms(prefix);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ids of the BPF programs a process holds (from its fds' fdinfo: programs and links). */
export function heldPrograms(pid: number): number[] {
  const ids = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch { /* fd closed meanwhile */ }
  }
  return [...ids].sort((a, b) => a - b);
}

/** Which of these program ids are still loaded, after waiting up to timeoutMs for the kernel to free them. */
export async function programsStillLoaded(ids: number[], timeoutMs = scaledMs(3000)): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const loaded = new Set((JSON.parse(out) as BpfProg[]).map((p) => p.id));
    const left = ids.filter((id) => loaded.has(id));
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { fixture, repoRoot } from './fixture.js';

/**
 * A multi-threaded workload that is already busy before a tool attaches (busy-tls,
 * busy-getaddrinfo): started, and resolved once it has printed its threads ("<role> TID" lines)
 * and "ready". It runs until stop() (its stdin closes).
 */
export interface BusyWorkload {
  pid: number;
  /** every thread's id, in the order printed */
  tids: number[];
  /** thread ids by role (the word before each: "writer", "reader", "tid") */
  roles: Record<string, number[]>;
  stop(): Promise<void>;
}
export function startBusy(bin: string, args: string[]): Promise<BusyWorkload> {
  const p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const closed = new Promise<void>((res) => p.on('close', () => res()));
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${bin} was not ready in ${scaledMs(10)} s\n${out}\n${err}`)), scaledMs(10000));
    p.stderr!.on('data', (d) => (err += d));
    p.on('close', (code) => rej(new Error(`${bin} exited (${code}) before it was ready\n${out}\n${err}`)));
    p.stdout!.on('data', (d) => {
      out += d;
      if (!/^ready$/m.test(out)) return;
      clearTimeout(t);
      const found = [...out.matchAll(/^(\w+) (\d+)$/gm)];
      const roles: Record<string, number[]> = {};
      for (const m of found) (roles[m[1]] ??= []).push(Number(m[2]));
      res({ pid: p.pid!, tids: found.map((m) => Number(m[2])), roles, stop: async () => { p.stdin!.end(); p.kill('SIGTERM'); await closed; } });
    });
  });
}

/**
 * The keys of the BPF map `name` a process holds (found through its fds' fdinfo), dumped with
 * bpftool; a key of up to 8 bytes shown as bytes is read as a little-endian number.
 */
export function heldMapKeys(pid: number, name: string): unknown[] {
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let id: string | undefined;
    try {
      id = /^map_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    } catch { /* fd closed meanwhile */ }
    if (!id) continue;
    const info = JSON.parse(execFileSync('bpftool', ['map', 'show', 'id', id, '-j'], { encoding: 'utf8' })) as { name?: string };
    if (info.name !== name) continue;
    const dump = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'id', id, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { key: unknown }[];
    return dump.map((e) => (Array.isArray(e.key) && e.key.length <= 8 ? e.key.reduceRight((n: number, b: string) => n * 256 + Number(b), 0) : e.key));
  }
  throw new Error(`process ${pid} holds no BPF map named ${name}`);
}

/** Run a command to the end; resolves with its pid, exit code and output. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ pid: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ pid: p.pid!, code, stdout, stderr }));
    if (p.stdin) {
      p.stdin.on('error', () => { /* the command did not read its input */ });
      p.stdin.end(opts.input);
    }
  });
}

/** A path no other process on the machine will open. */
export function uniquePath(tag: string): string {
  return join(tmpdir(), `bpf-recipes-${tag}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
}

/**
 * Wait until something listens on 127.0.0.1:`port` (TCP), read from /proc/net/tcp: nothing
 * connects to it, so a server that serves one connection at a time is left alone.
 */
export async function waitForListen(port: number, timeoutMs = 5000): Promise<void> {
  const needle = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;
  const deadline = Date.now() + timeoutMs;
  while (!readFileSync('/proc/net/tcp', 'utf8').includes(needle)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A real block device only the caller uses: a loop device over a new file of `mib` MiB under
 * /var/tmp (not a tmpfs). `disk` is its name in /sys/block; dispose() detaches it and removes the file.
 */
export function loopDisk(tag: string, mib = 16): { dev: string; disk: string; dispose(): void } {
  const dir = mkdtempSync(`/var/tmp/bpf-recipes-${tag}-`);
  writeFileSync(join(dir, 'backing'), Buffer.alloc(mib << 20));
  let dev = '';
  try {
    dev = execFileSync('losetup', ['-f', '--show', join(dir, 'backing')], { encoding: 'utf8' }).trim();
  } finally {
    if (!dev) rmSync(dir, { recursive: true, force: true });
  }
  return {
    dev,
    disk: basename(dev),
    dispose: () => {
      execFileSync('losetup', ['-d', dev]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A disk's I/O so far (/sys/block/DEV/stat, Documentation/block/stat.rst): requests completed and bytes, each way. */
export function blockStat(disk: string): { reads: number; readBytes: number; writes: number; writeBytes: number } {
  const f = readFileSync(`/sys/block/${disk}/stat`, 'utf8').trim().split(/\s+/).map(Number);
  return { reads: f[0], readBytes: f[2] * 512, writes: f[4], writeBytes: f[6] * 512 };
}

/** Give the tool a moment to read the ring buffer after a workload (events are drained at stop anyway). */
export const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));
export { cliConformance, type ConformanceOptions } from './conformance.js';
export { inNamespaces, jsonLines, type NamespaceRun } from './namespaces.js';
export { interrupt, libbpfTool, parseStraceCalls, parseStraceCounts, uniquelyNamed, watch, type StraceCall, type Watched } from './oracle.js';
export { FRAME_POINTER_CFLAGS, SYSCALL_ENTRY } from './arch.js';
export * from './prometheus.js';
export { makeCertificates, startTlsServer, type Certificates, type TlsServer } from './tls.js';
export { chainShare, countOf, foldedStacks, holdsChain, type FoldedStack } from './stacks.js';
export { makeMiniDebugInfo, startDebuginfod, type DebuginfodServer } from './debuginfo.js';

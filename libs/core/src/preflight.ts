/** Checks made before anything loads, each failing with one line that says how to fix it. */
import { existsSync, readFileSync } from 'node:fs';
import { PreflightError } from './errors.js';
import { libbpf } from './ffi.js';
import { ensureTracefs } from './tracefs.js';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

export function hasBpfPrivileges(caps = effectiveCaps()): boolean {
  const has = (c: bigint) => (caps >> c) & 1n;
  return Boolean(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)));
}

export interface PreflightOptions {
  /** tracepoint programs need tracefs to find their ids */
  tracefs?: boolean;
}

export function preflight(opts: PreflightOptions = { tracefs: true }): void {
  if (process.platform !== 'linux') throw new PreflightError('bpf-recipes runs on Linux only');
  if (!hasBpfPrivileges()) throw new PreflightError('BPF tracing needs root (or CAP_BPF and CAP_PERFMON): run it with sudo');
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new PreflightError('this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): use a kernel built with CONFIG_DEBUG_INFO_BTF=y');
  }
  libbpf();
  if (opts.tracefs !== false) ensureTracefs();
}

/**
 * The CPU architectures bpf-recipes builds and ships for, and what each is called where it matters:
 * Node's process.arch (npm's "cpu"), clang's -D__TARGET_ARCH_<target> (bpf_tracing.h's register
 * names for PT_REGS_PARM*), Debian's architecture (the .deb, the VM lane's kernel and root),
 * uname -m. One table for the BPF build (scripts/build-bpf.mjs), the loader (the object of the
 * running architecture), the packages, doctor and the VM lane.
 */
import { existsSync } from 'node:fs';
import { arch as nodeArch } from 'node:os';

export interface ArchInfo {
  /** Node's process.arch, and npm's "cpu" value */
  readonly node: string;
  /** clang's __TARGET_ARCH_<target>, and the infix of the object file (opensnoop.x86.bpf.o) */
  readonly target: string;
  /** Debian's name (dpkg --print-architecture) */
  readonly debian: string;
  /** the kernel's name (uname -m) */
  readonly machine: string;
}

export const ARCHES: readonly ArchInfo[] = [
  { node: 'x64', target: 'x86', debian: 'amd64', machine: 'x86_64' },
  { node: 'arm64', target: 'arm64', debian: 'arm64', machine: 'aarch64' },
];

/** The architecture Node runs on (or `node`), undefined when bpf-recipes has no objects for it. */
export function archInfo(node: string = nodeArch()): ArchInfo | undefined {
  return ARCHES.find((a) => a.node === node);
}

/** One architecture's object file beside the name the tools use: opensnoop.bpf.o → opensnoop.arm64.bpf.o. */
export function archObjectName(path: string, target: string): string {
  return path.replace(/\.bpf\.o$/, `.${target}.bpf.o`);
}

/**
 * The object to load for `path` (dist/bpf/NAME.bpf.o): the running architecture's
 * NAME.<target>.bpf.o, which the build puts beside it for every architecture; `path` itself when
 * it exists as given (an object built for this machine alone, as tests build them).
 */
export function objectForArch(path: string, node: string = nodeArch()): { path: string; missing?: string } {
  if (existsSync(path) || !/\.bpf\.o$/.test(path)) return { path };
  const a = archInfo(node);
  if (!a) return { path, missing: `bpf-recipes has no BPF objects for the ${node} architecture (built for ${ARCHES.map((x) => x.node).join(', ')})` };
  return { path: archObjectName(path, a.target) };
}

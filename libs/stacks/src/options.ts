/**
 * The options every stack tool shares (-K/-U, -P, --stack-storage-size, --format, -o): their
 * entries in a tool's option table (so --help and the man page say the same everywhere) and their
 * checks (UsageError, exit 2).
 */
import type { OptionSpec } from '@bpf-recipes/cli';
import { parseIntArg } from '@bpf-recipes/runtime';
import { UsageError } from '@bpf-recipes/core';

export const STACK_FORMATS = ['text', 'folded', 'speedscope', 'pprof', 'svg'] as const;
export type StackFormat = (typeof STACK_FORMATS)[number];
/** formats that are one file for the whole run, written at the end */
export const FILE_FORMATS: readonly StackFormat[] = ['speedscope', 'pprof', 'svg'];

/** What the stack tools' notes (--help, man page) say of how user stacks are walked. */
export const USER_STACKS_NOTE =
  "User stacks are walked in the kernel from the mapped files' call-frame information (.eh_frame, .debug_frame), so code " +
  "built without frame pointers (distributions' binaries, libc's syscall wrappers) gives whole stacks; by frame pointers " +
  'where there is none (JIT code) and with --frame-pointers (the kernel\'s cheaper walk). A stack that could not be walked ' +
  'to its first frame ends in [incomplete user stack], and how many is reported on stderr. ';

/** the default and bounds of --unwind-memory (MiB) */
export const DEFAULT_UNWIND_MEMORY_MB = 16;
export const MIN_UNWIND_MEMORY_MB = 1 / 16;
export const MAX_UNWIND_MEMORY_MB = 1024;

/**
 * --unwind-memory SIZE in MiB: a number of MiB, or with a unit (K, M, G: KiB, MiB, GiB; 512K,
 * 1.5M), from 64K to 1024M. Numbers (the typed API's unwindMemoryMb) are MiB.
 */
export function parseUnwindMemory(given: string | number): number {
  const text = String(given).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kKmMgG])(?:i?B)?)?$/.exec(text);
  const mb = m ? Number(m[1]) * ({ k: 1 / 1024, m: 1, g: 1024 }[(m[2] ?? 'm').toLowerCase() as 'k' | 'm' | 'g']) : NaN;
  if (!(mb >= MIN_UNWIND_MEMORY_MB && mb <= MAX_UNWIND_MEMORY_MB)) {
    throw new UsageError(`--unwind-memory: '${text}' is not a size from 64K to ${MAX_UNWIND_MEMORY_MB}M (MiB, or a number with K, M or G)`);
  }
  return mb;
}

/** the default and bounds of --stack-storage-size */
export const DEFAULT_STACK_STORAGE = 16384;
export const MAX_STACK_STORAGE = 262144;

/** The shared options as the parser hands them over. */
export interface StackArgs {
  kernel?: boolean;
  user?: boolean;
  'per-process'?: boolean;
  'stack-storage-size'?: string;
  format?: string;
  output?: string;
  json?: boolean;
  'frame-pointers'?: boolean;
  'unwind-memory'?: string;
}

/**
 * The shared options' entries for a tool's spec. `weight` names what a stack's number is in the
 * text format ("count" for stackcount, "microseconds off CPU" for offcputime).
 */
export function stackOptionSpecs(weight = 'count'): {
  kernel: OptionSpec;
  user: OptionSpec;
  'per-process': OptionSpec;
  'stack-storage-size': OptionSpec;
  format: OptionSpec;
  output: OptionSpec;
  'frame-pointers': OptionSpec;
  'unwind-memory': OptionSpec;
} {
  return {
    kernel: { alias: 'K', type: 'boolean', describe: 'kernel stacks only' },
    user: { alias: 'U', type: 'boolean', describe: 'user stacks only' },
    'per-process': { alias: 'P', type: 'boolean', describe: 'one entry per process (PID) instead of per program name (comm)' },
    'stack-storage-size': {
      type: 'string',
      arg: 'N',
      describe: `how many distinct stacks the kernel keeps (default ${DEFAULT_STACK_STORAGE}; ~1 KB each); more when stacks are reported missed`,
    },
    format: {
      type: 'string',
      arg: 'text|folded|speedscope|pprof|svg',
      describe:
        `text: frames one per line, leaf first, with comm and ${weight} (default); folded: \`comm;root;...;leaf ${weight === 'count' ? 'count' : 'N'}\` per line (flamegraph.pl); ` +
        'speedscope: its JSON file (speedscope.app); pprof: gzipped profile.proto (go tool pprof, Pyroscope, Parca); ' +
        'svg: an interactive flame graph in one file (hover, click to zoom, search). The last three are one profile written at the end',
    },
    output: { alias: 'o', type: 'string', arg: 'FILE', describe: 'write the stacks to FILE instead of stdout' },
    'frame-pointers': {
      type: 'boolean',
      describe:
        "walk user stacks by frame pointers only (the kernel's walk: cheaper, but code built without them, such as most distributions' binaries and libc's syscall wrappers, gives short stacks); default: call-frame information (.eh_frame), frame pointers where there is none (JIT code)",
    },
    'unwind-memory': {
      type: 'string',
      arg: 'SIZE',
      describe:
        `memory for the call-frame tables of the mapped files: MiB, or with K, M or G (default ${DEFAULT_UNWIND_MEMORY_MB}M, from 64K to ${MAX_UNWIND_MEMORY_MB}M); ` +
        "when full, the least recently walked files' tables make room; a stack through a file whose table is not loaded ends in [incomplete user stack] and is counted on stderr; -v reports the use",
    },
  };
}

/** The shared options, checked. */
export interface StackOptions {
  /** capture kernel stacks (not -U) */
  kernel: boolean;
  /** capture user stacks (not -K) */
  user: boolean;
  perProcess: boolean;
  /** entries of the stack map */
  storage: number;
  format: StackFormat;
  /** one profile file written at the end (speedscope, pprof, svg) */
  fileFormat: boolean;
  output?: string;
  json: boolean;
  /** walk user stacks by frame pointers (the kernel's walk) instead of call-frame information */
  framePointers: boolean;
  /** MiB for the call-frame tables (a fraction with K) */
  unwindMemoryMb: number;
}

export function parseStackArgs(a: StackArgs, stdoutIsTTY = Boolean(process.stdout.isTTY)): StackOptions {
  if (a.kernel && a.user) throw new UsageError('-K and -U exclude each other: give one, or neither for both stacks');
  const format = (a.format ?? 'text') as StackFormat;
  if (!STACK_FORMATS.includes(format)) throw new UsageError(`--format: '${format}' is not one of ${STACK_FORMATS.join(', ')}`);
  if (a.json && a.format !== undefined) throw new UsageError('--json and --format exclude each other');
  if (a.output === '') throw new UsageError('-o/--output: give a file name');
  if (format === 'pprof' && a.output === undefined && stdoutIsTTY) throw new UsageError('--format pprof is gzipped binary: write it to a file with -o FILE (or redirect stdout)');
  const storage =
    a['stack-storage-size'] === undefined
      ? DEFAULT_STACK_STORAGE
      : parseIntArg('stack-storage-size', a['stack-storage-size'], `a number of stacks from 1 to ${MAX_STACK_STORAGE}`, 1, MAX_STACK_STORAGE);
  return {
    kernel: !a.user,
    user: !a.kernel,
    perProcess: Boolean(a['per-process']),
    storage,
    format,
    fileFormat: FILE_FORMATS.includes(format),
    ...(a.output !== undefined ? { output: a.output } : {}),
    json: Boolean(a.json),
    framePointers: Boolean(a['frame-pointers']),
    unwindMemoryMb: a['unwind-memory'] === undefined ? DEFAULT_UNWIND_MEMORY_MB : parseUnwindMemory(a['unwind-memory']),
  };
}

/** The typed API's stack options (camelCase) as the command line's, for parseStackArgs. */
export function stackArgsOf(o: { kernel?: boolean; user?: boolean; stackStorageSize?: number | string; framePointers?: boolean; unwindMemoryMb?: number | string }): StackArgs {
  return {
    kernel: o.kernel,
    user: o.user,
    ...(o.stackStorageSize !== undefined ? { 'stack-storage-size': String(o.stackStorageSize) } : {}),
    ...(o.framePointers !== undefined ? { 'frame-pointers': o.framePointers } : {}),
    ...(o.unwindMemoryMb !== undefined ? { 'unwind-memory': String(o.unwindMemoryMb) } : {}),
  };
}

/** -i/--interval SEC: the runtime's one parser (0: only at the end). */
export { parseInterval } from '@bpf-recipes/runtime';

/** --interval with a file format (one profile for the whole run) is refused. */
export function checkInterval(o: Pick<StackOptions, 'format' | 'fileFormat'>, intervalS: number | undefined): void {
  if (o.fileFormat && intervalS !== undefined) throw new UsageError(`--format ${o.format} writes one profile for the whole run: drop --interval (or use --format folded with it)`);
}

/** "kernel and user", "kernel" or "user": for the readiness line. */
export function whichStacks(o: Pick<StackOptions, 'kernel' | 'user'>): string {
  return o.kernel && o.user ? 'kernel and user' : o.kernel ? 'kernel' : 'user';
}

/** Typed errors: every failure of the loader says what failed, the errno name, and what to do. */
import { errnoMessage, errnoName } from './errno.js';

export class RecipesError extends Error {
  /** exit code the CLI uses for it */
  readonly exitCode: number = 1;
}

/** The machine cannot run BPF tools as things stand (privileges, BTF, libbpf, tracefs). */
export class PreflightError extends RecipesError {
  override readonly name = 'PreflightError';
}

/** Bad command-line input: exit 2. */
export class UsageError extends RecipesError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
}

/** A libbpf call failed. */
export class BpfError extends RecipesError {
  override readonly name: string = 'BpfError';
  readonly errno: number;
  readonly code: string;
  constructor(readonly op: string, errno: number, readonly hint?: string, readonly log?: string) {
    const n = Math.abs(errno);
    super(`${op}: ${errnoName(n)} (${errnoMessage(n)})${hint ? `: ${hint}` : ''}`);
    this.errno = n;
    this.code = errnoName(n);
  }
}

/** The kernel refused to load an object (the verifier's log is in `log`). */
export class LoadError extends BpfError {
  override readonly name: string = 'LoadError';
}

/** A program could not be attached where it was asked to be. */
export class AttachError extends BpfError {
  override readonly name: string = 'AttachError';
}

/** A hint for the common reasons a load or attach fails. */
export function hintFor(op: 'load' | 'attach' | 'open', errno: number): string | undefined {
  switch (errnoName(errno)) {
    case 'EACCES':
      return op === 'load' ? 'the verifier rejected a program (run with -v for its log)' : 'permission denied (run as root)';
    case 'EPERM':
      return op === 'load' ? 'not permitted: root is needed, and some program types (fentry) are refused on some kernels' : 'permission denied (run as root)';
    case 'ENOENT':
      return op === 'attach' ? 'the probe point does not exist on this kernel' : 'not found';
    case 'EINVAL':
      return op === 'load' ? 'the kernel rejected the object (run with -v for the verifier log)' : undefined;
    case 'E2BIG':
    case 'ENOMEM':
      return 'out of memory for BPF maps (try a smaller --buffer-size)';
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
      return 'not supported by this kernel';
    default:
      return undefined;
  }
}

/**
 * libbpf's own log: streamed to stderr under --verbose, otherwise kept (warnings only) for error
 * reports. A message is formatted whole (vasprintf): the verifier's log of a rejected program is one
 * message of any length, and the instruction that failed is at its end. Past MESSAGE_MAX bytes, its
 * head and its tail are kept, with what was left out said in between.
 *
 * Each BpfObject has its own LibbpfLog (its verbosity is an option of the object): libbpf has one
 * print hook per process, installed once, and a message goes to the log whose libbpf call is
 * running (libbpf prints synchronously, on the calling thread). A message printed outside any
 * such call goes to `defaultLibbpfLog`.
 */
import { isNull, koffiLib, libbpf, view, type Ptr } from './ffi.js';

const LEVEL = ['warn', 'info', 'debug'];
export const MESSAGE_MAX = 1 << 20;
const HEAD = 16 << 10;

/** A message cut to MESSAGE_MAX bytes: the first HEAD bytes and the tail. */
export function boundMessage(text: Buffer): string {
  if (text.length <= MESSAGE_MAX) return text.toString('utf8');
  const tail = MESSAGE_MAX - HEAD;
  const left = text.length - HEAD - tail;
  return `${text.toString('utf8', 0, HEAD)}\n[... ${left} bytes of this message left out ...]\n${text.toString('utf8', text.length - tail)}`;
}

export class LibbpfLog {
  verbose: boolean;
  private readonly kept: string[] = [];

  constructor(opts: { verbose?: boolean } = {}) {
    this.verbose = Boolean(opts.verbose);
  }

  /** Run a libbpf call with this log receiving what libbpf prints during it. */
  run<T>(fn: () => T): T {
    installHook();
    const outer = active;
    active = this;
    try {
      return fn();
    } finally {
      active = outer;
    }
  }

  /** The warnings libbpf printed since the last call, for an error report. */
  take(): string[] {
    return this.kept.splice(0);
  }

  /** Should a message of this level be formatted at all? */
  wants(level: number): boolean {
    return this.verbose || level === 0;
  }

  receive(level: number, text: string): void {
    if (this.verbose) process.stderr.write(`libbpf(${LEVEL[level] ?? level}): ${text}`);
    else {
      this.kept.push(text.trimEnd());
      if (this.kept.length > 50) this.kept.shift();
    }
  }
}

/**
 * Where messages printed outside any LibbpfLog.run() go: warnings kept for takeLibbpfWarnings(),
 * never streamed (no process-wide verbosity: a caller that wants libbpf's log of a call made
 * outside an object runs it in a LibbpfLog of its own, `new LibbpfLog({ verbose }).run(fn)`).
 */
export const defaultLibbpfLog = new LibbpfLog();
let active: LibbpfLog | undefined;
let hooked = false;

/** libbpf's print hook is per process: install ours once; it forwards to the running log. */
function installHook(): void {
  if (hooked) return;
  hooked = true;
  const l = libbpf();
  const koffi = koffiLib();
  const cb = koffi.register((level: number, fmt: string, ap: bigint) => {
    const to = active ?? defaultLibbpfLog;
    if (!to.wants(level)) return 0;
    const out: (Ptr | null)[] = [null];
    const n = l.vasprintf(out, fmt, ap) as number;
    if (n <= 0 || isNull(out[0])) return 0;
    const text = boundMessage(Buffer.from(view(out[0]!, n)));
    l.free(out[0]);
    to.receive(level, text);
    return 0;
  }, koffi.pointer(l.printFn));
  l.libbpf_set_print(cb);
}

/** The warnings libbpf printed outside any object's calls since the last call. */
export function takeLibbpfWarnings(): string[] {
  return defaultLibbpfLog.take();
}

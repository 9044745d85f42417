/**
 * libbpf's own log: streamed to stderr under --verbose, otherwise kept (warnings only) for error
 * reports. A message is formatted whole (vasprintf): the verifier's log of a rejected program is one
 * message of any length, and the instruction that failed is at its end. Past MESSAGE_MAX bytes, its
 * head and its tail are kept, with what was left out said in between.
 */
import { isNull, koffiLib, libbpf, view, type Ptr } from './ffi.js';

const LEVEL = ['warn', 'info', 'debug'];
let installed = false;
let verbose = false;
const kept: string[] = [];
export const MESSAGE_MAX = 1 << 20;
const HEAD = 16 << 10;

/** A message cut to MESSAGE_MAX bytes: the first HEAD bytes and the tail. */
export function boundMessage(text: Buffer): string {
  if (text.length <= MESSAGE_MAX) return text.toString('utf8');
  const tail = MESSAGE_MAX - HEAD;
  const left = text.length - HEAD - tail;
  return `${text.toString('utf8', 0, HEAD)}\n[... ${left} bytes of this message left out ...]\n${text.toString('utf8', text.length - tail)}`;
}

export function setLibbpfLog(opts: { verbose: boolean }): void {
  verbose = opts.verbose;
  if (installed) return;
  installed = true;
  const l = libbpf();
  const koffi = koffiLib();
  const cb = koffi.register((level: number, fmt: string, ap: bigint) => {
    if (!verbose && level > 0) return 0;
    const out: (Ptr | null)[] = [null];
    const n = l.vasprintf(out, fmt, ap) as number;
    if (n <= 0 || isNull(out[0])) return 0;
    const text = boundMessage(Buffer.from(view(out[0]!, n)));
    l.free(out[0]);
    if (verbose) process.stderr.write(`libbpf(${LEVEL[level] ?? level}): ${text}`);
    else {
      kept.push(text.trimEnd());
      if (kept.length > 50) kept.shift();
    }
    return 0;
  }, koffi.pointer(l.printFn));
  l.libbpf_set_print(cb);
}

/** The warnings libbpf printed since the last call, for an error report. */
export function takeLibbpfWarnings(): string[] {
  return kept.splice(0);
}

/** libbpf's own log: streamed to stderr under --verbose, otherwise kept (warnings only) for error reports. */
import { koffiLib, libbpf } from './ffi.js';

const LEVEL = ['warn', 'info', 'debug'];
let installed = false;
let verbose = false;
const kept: string[] = [];
const buf = Buffer.alloc(8192);

export function setLibbpfLog(opts: { verbose: boolean }): void {
  verbose = opts.verbose;
  if (installed) return;
  installed = true;
  const l = libbpf();
  const koffi = koffiLib();
  const cb = koffi.register((level: number, fmt: string, ap: bigint) => {
    if (!verbose && level > 0) return 0;
    const n = l.vsnprintf(buf, buf.length, fmt, ap);
    const text = buf.toString('utf8', 0, Math.max(0, Math.min(n, buf.length - 1)));
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

/**
 * Kernel addresses → names through /proc/kallsyms (read once, sorted, binary search).
 * Without root (or with kernel.kptr_restrict=2) the file lists every address as zero: then
 * nothing can be named, and `hidden` says so instead of naming every frame after one symbol.
 */
import { readFileSync } from 'node:fs';
import { SymbolTable, type TableEntry } from './table.js';

export interface KernelSymbol {
  name: string;
  offset: bigint;
}

export class KernelSymbols {
  private readonly table: SymbolTable;
  /** why names cannot be known (all addresses zero), or undefined */
  readonly hidden: string | undefined;

  private constructor(entries: TableEntry[], hidden: string | undefined) {
    this.table = new SymbolTable(entries);
    this.hidden = hidden;
  }

  static load(path = '/proc/kallsyms'): KernelSymbols {
    return KernelSymbols.parse(readFileSync(path, 'latin1'));
  }

  /** Parse the text of /proc/kallsyms: `ADDR TYPE NAME [MODULE]`, text symbols only. */
  static parse(text: string): KernelSymbols {
    const entries: TableEntry[] = [];
    let lines = 0;
    let nonZero = false;
    let at = 0;
    while (at < text.length) {
      let nl = text.indexOf('\n', at);
      if (nl < 0) nl = text.length;
      const sp1 = text.indexOf(' ', at);
      if (sp1 > at && sp1 < nl) {
        lines++;
        const type = text.charCodeAt(sp1 + 1);
        // t T (text), w W (weak, often text)
        if (type === 0x74 || type === 0x54 || type === 0x77 || type === 0x57) {
          const hex = text.slice(at, sp1);
          const nameStart = sp1 + 3;
          // module symbols end in `\t[module]`; search the line only, not the rest of the file
          const line = text.slice(nameStart, nl);
          const tab = line.indexOf('\t');
          const name = tab < 0 ? line : line.slice(0, tab);
          const value = BigInt('0x' + hex);
          if (value !== 0n) {
            nonZero = true;
            entries.push({ name, value, size: 0n });
          }
        }
      }
      at = nl + 1;
    }
    const hidden =
      lines > 0 && !nonZero
        ? '/proc/kallsyms shows only zero addresses: kernel frames cannot be named (run as root, or set the sysctl kernel.kptr_restrict=0)'
        : lines === 0
          ? '/proc/kallsyms is empty: kernel frames cannot be named'
          : undefined;
    return new KernelSymbols(entries, hidden);
  }

  get size(): number {
    return this.table.length;
  }

  lookup(addr: bigint): KernelSymbol | undefined {
    if (this.hidden) return undefined;
    return this.table.lookup(addr);
  }
}

/**
 * Frames that belong to the BPF and tracing machinery that ran the program which took the stack
 * (the BPF program itself, its trampolines and dispatchers, the tracepoint's perf glue). They sit
 * at the top (leaf end) of every kernel stack taken from a BPF program and say nothing about the
 * traced code.
 */
const BPF_FRAME =
  /^(bpf_prog_|bpf_trampoline_|bpf_dispatcher_|bpf_trace_run\d|__bpf_trace_|__bpf_prog_run|trace_call_bpf$|perf_trace_run_bpf_submit$|perf_call_bpf_(enter|exit)$|perf_syscall_(enter|exit)$|perf_trace_|__traceiter_|bpf_get_stack)/;

export function isBpfFrame(name: string): boolean {
  return BPF_FRAME.test(name);
}

/**
 * How many leading frames (leaf first, as bpf_get_stackid stores them) belong to the BPF program
 * and its dispatch; only the top is dropped, never frames below the first traced-code frame.
 */
export function bpfFramesOnTop(names: readonly (string | undefined)[]): number {
  let n = 0;
  while (n < names.length && names[n] !== undefined && isBpfFrame(names[n] as string)) n++;
  return n;
}

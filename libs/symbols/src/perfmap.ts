/**
 * Perf maps of JIT compilers (/tmp/perf-PID.map: `START SIZE name`, hex without 0x, one entry a
 * line; node --perf-basic-prof, python -X perf). The file grows while the process runs: a lookup
 * that misses reads what was appended since the last read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SymbolTable, type TableEntry } from './table.js';

export class PerfMap {
  private entries: TableEntry[] = [];
  private table = new SymbolTable([]);
  private readBytes = 0;
  private partial = '';

  constructor(readonly path: string) {}

  /** Read what was appended since the last call; false when the file cannot be read. */
  refresh(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.readBytes) {
        // rewritten from scratch (a new process with the same PID)
        this.entries = [];
        this.readBytes = 0;
        this.partial = '';
      }
      if (size === this.readBytes) return true;
      const buf = Buffer.alloc(size - this.readBytes);
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, this.readBytes + done);
        if (n <= 0) break;
        done += n;
      }
      this.readBytes += done;
      const text = this.partial + buf.subarray(0, done).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      const added = parsePerfMapLines(lines);
      // a later entry for the same start (code moved or recompiled) replaces the older one
      this.entries = added.reverse().concat(this.entries);
      this.table = new SymbolTable(this.entries);
      return true;
    } finally {
      closeSync(fd);
    }
  }

  get length(): number {
    return this.table.length;
  }

  lookup(addr: bigint): { name: string; offset: bigint } | undefined {
    const hit = this.table.lookup(addr);
    if (hit) return hit;
    this.refresh();
    return this.table.lookup(addr);
  }
}

export function parsePerfMapLines(lines: readonly string[]): TableEntry[] {
  const out: TableEntry[] = [];
  for (const line of lines) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const size = BigInt('0x' + m[2]);
    if (size === 0n) continue;
    out.push({ value: BigInt('0x' + m[1]), size, name: m[3] });
  }
  return out;
}

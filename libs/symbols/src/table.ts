/** A sorted address → name table with binary search (ELF symbols, kallsyms, perf maps). */

export interface TableEntry {
  name: string;
  value: bigint;
  /** 0n: unknown size, the symbol runs to the next one */
  size: bigint;
}

export interface Hit {
  name: string;
  /** address − symbol start */
  offset: bigint;
}

export class SymbolTable {
  private readonly starts: BigUint64Array;
  private readonly sizes: BigUint64Array;
  private readonly names: string[];

  /**
   * Entries at one address keep the first given (callers list preferred sources first); a later
   * entry with a size wins over an earlier one without.
   */
  constructor(entries: readonly TableEntry[]) {
    const order = entries.map((_, i) => i);
    order.sort((a, b) => {
      const va = entries[a].value;
      const vb = entries[b].value;
      return va < vb ? -1 : va > vb ? 1 : a - b;
    });
    const starts: bigint[] = [];
    const sizes: bigint[] = [];
    const names: string[] = [];
    for (const i of order) {
      const e = entries[i];
      const last = starts.length - 1;
      if (last >= 0 && starts[last] === e.value) {
        if (sizes[last] === 0n && e.size > 0n) sizes[last] = e.size;
        continue;
      }
      starts.push(e.value);
      sizes.push(e.size);
      names.push(e.name);
    }
    this.starts = BigUint64Array.from(starts);
    this.sizes = BigUint64Array.from(sizes);
    this.names = names;
  }

  get length(): number {
    return this.names.length;
  }

  /** The symbol that holds addr: the last one starting at or below it, within its size if it has one. */
  lookup(addr: bigint): Hit | undefined {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const size = this.sizes[found];
    if (size > 0n && addr >= s[found] + size) {
      // an enclosing symbol with a size (rare: aliases, nested labels) may still hold it
      for (let i = found - 1; i >= 0 && found - i <= 8; i--) {
        if (this.sizes[i] > 0n && addr < s[i] + this.sizes[i]) return { name: this.names[i], offset: addr - s[i] };
      }
      return undefined;
    }
    return { name: this.names[found], offset: addr - s[found] };
  }
}

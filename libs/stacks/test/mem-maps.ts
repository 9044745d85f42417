// The unwinder's BPF maps kept in memory, for tests of UserUnwinder without the kernel.
import type { UnwindMaps } from '../src/unwind.js';

/** A BPF map kept in memory: what UserUnwinder calls. */
export class MemMap {
  readonly m = new Map<string, Buffer>();
  constructor(readonly keySize: number, readonly valueSize: number) {}
  update(k: Buffer, v: Buffer): void {
    this.m.set(k.toString('hex'), Buffer.from(v));
  }
  updateBatch(keys: Buffer, values: Buffer, n: number): void {
    for (let i = 0; i < n; i++) this.update(keys.subarray(i * this.keySize, (i + 1) * this.keySize), values.subarray(i * this.valueSize, (i + 1) * this.valueSize));
  }
  lookup(k: Buffer): Buffer | null {
    return this.m.get(k.toString('hex')) ?? null;
  }
  delete(k: Buffer): boolean {
    return this.m.delete(k.toString('hex'));
  }
  *keys(): Generator<Buffer> {
    for (const k of [...this.m.keys()]) yield Buffer.from(k, 'hex');
  }
  sumU64(k: Buffer): number {
    const v = this.lookup(k);
    return v ? Number(v.readBigUInt64LE(0)) : 0;
  }
}

export function memMaps(): UnwindMaps & Record<string, MemMap> {
  return {
    unwind_rows: new MemMap(4, 12),
    unwind_procs: new MemMap(4, 8 + 256 * 40),
    unwind_stacks: new MemMap(4, 1016),
    unwind_wanted: new MemMap(4, 8),
    unwind_stats: new MemMap(4, 8),
    unwind_files: new MemMap(16, 112),
    unwind_vmas: new MemMap(16, 32),
    unwind_found: new MemMap(4, 656),
    unwind_used: new MemMap(4, 4),
  } as unknown as UnwindMaps & Record<string, MemMap>;
}


/** A BPF map of a loaded object: lookups, iteration and per-CPU values, with plain Buffers. */
import { BpfError } from './errors.js';
import { errno, libbpf, type Ptr } from './ffi.js';

export const MapType = { HASH: 1, ARRAY: 2, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_PERCPU_HASH: 10, RINGBUF: 27 } as const;

/** The kernel's possible CPUs (libbpf reads /sys once and keeps it): the slots of a per-CPU value. */
export function possibleCpus(): number {
  return libbpf().libbpf_num_possible_cpus();
}

/**
 * A map of an object, from open on: its type and sizes are known before load; its fd and final
 * size (libbpf may round a ring buffer's, a tool may resize it) are read once it is loaded.
 */
export class BpfMap {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly perCpu: boolean;
  /** slots of a value: the possible CPUs for a per-CPU map, else 1 */
  readonly cpus: number;
  private loadedFd = -1;
  private loadedMaxEntries = -1;

  constructor(readonly name: string, readonly ptr: Ptr) {
    const l = libbpf();
    this.type = l.bpf_map__type(ptr);
    this.keySize = l.bpf_map__key_size(ptr);
    this.valueSize = l.bpf_map__value_size(ptr);
    this.perCpu = [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH].includes(this.type as 5 | 6 | 10);
    this.cpus = this.perCpu ? possibleCpus() : 1;
  }

  /** The map's fd (negative before the object is loaded). */
  get fd(): number {
    if (this.loadedFd < 0) {
      this.loadedFd = libbpf().bpf_map__fd(this.ptr);
      if (this.loadedFd >= 0) this.loadedMaxEntries = libbpf().bpf_map__max_entries(this.ptr);
    }
    return this.loadedFd;
  }

  get maxEntries(): number {
    return this.fd >= 0 ? this.loadedMaxEntries : libbpf().bpf_map__max_entries(this.ptr);
  }

  /** Bytes of one lookup's value: per-CPU maps return one 8-aligned slot per possible CPU. */
  get lookupSize(): number {
    return this.perCpu ? (Math.ceil(this.valueSize / 8) * 8) * this.cpus : this.valueSize;
  }

  lookup(key: Buffer): Buffer | null {
    const value = Buffer.alloc(this.lookupSize);
    const rc = libbpf().bpf_map_lookup_elem(this.fd, key, value);
    if (rc === 0) return value;
    const e = -rc || errno();
    if (e === 2) return null; // ENOENT
    throw new BpfError(`lookup in map ${this.name}`, e);
  }

  /** The per-CPU values of one key, each a Buffer of valueSize. */
  lookupPerCpu(key: Buffer): Buffer[] {
    const v = this.lookup(key);
    if (!v) return [];
    const stride = Math.ceil(this.valueSize / 8) * 8;
    return Array.from({ length: this.cpus }, (_, i) => v.subarray(i * stride, i * stride + this.valueSize));
  }

  update(key: Buffer, value: Buffer, flags = 0): void {
    const rc = libbpf().bpf_map_update_elem(this.fd, key, value, flags);
    if (rc !== 0) throw new BpfError(`update of map ${this.name}`, -rc || errno());
  }

  /**
   * Many entries in one system call: `keys` and `values` hold `count` keys and values back to back
   * (an array map's rows, a table loaded at once).
   */
  updateBatch(keys: Buffer, values: Buffer, count: number, flags = 0): void {
    if (count === 0) return;
    const n = [count];
    const opts = Buffer.alloc(24); // struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; }
    opts.writeBigUInt64LE(24n, 0);
    opts.writeBigUInt64LE(BigInt(flags), 8);
    const rc = libbpf().bpf_map_update_batch(this.fd, keys, values, n, opts);
    if (rc !== 0) throw new BpfError(`batch update of map ${this.name} (${n[0]} of ${count} written)`, -rc || errno());
  }

  delete(key: Buffer): boolean {
    const rc = libbpf().bpf_map_delete_elem(this.fd, key);
    if (rc === 0) return true;
    const e = -rc || errno();
    if (e === 2) return false;
    throw new BpfError(`delete from map ${this.name}`, e);
  }

  *keys(): Generator<Buffer> {
    const l = libbpf();
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const rc = l.bpf_map_get_next_key(this.fd, prev, next);
      if (rc !== 0) {
        const e = -rc || errno();
        if (e === 2) return;
        throw new BpfError(`iteration of map ${this.name}`, e);
      }
      yield next;
      prev = next;
    }
  }

  /** Every key with its value (per-CPU maps: the raw per-CPU block; see lookupPerCpu). */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /** Sum of the u64 at `offset` over all CPUs (per-CPU counters). */
  sumU64(key: Buffer, offset = 0): number {
    let sum = 0;
    for (const v of this.perCpu ? this.lookupPerCpu(key) : [this.lookup(key)]) {
      if (v) sum += v.readUInt32LE(offset) + v.readUInt32LE(offset + 4) * 4294967296;
    }
    return sum;
  }
}

/**
 * A BPF ring buffer read in place: the map is mmap'd once, libuv polls its fd on Node's own
 * event loop, and records are handed to the callback as (buffer, offset, length) views of the
 * shared memory. No FFI call and no copy per event.
 *
 * Layout (kernel/bpf/ringbuf.c): page 0 is the consumer position (ours to write); from page 1
 * the producer position, then the data area mapped twice so a record never wraps. Each record
 * has an 8-byte header: u32 length with BUSY (bit 31) and DISCARD (bit 30) flags, u32 page offset.
 *
 * Memory order, as the kernel's producer expects (and libbpf's reader does): the producer position
 * and each record's header are read with acquire loads (the record's bytes are read only after its
 * header says it is committed), the consumer position is written with a release store (the kernel
 * may reuse the space only after we are done with it). Atomics.load/store are sequentially
 * consistent, which is at least that, on arm64 as on x86 (where plain loads would do).
 */
import { BpfError } from './errors.js';
import { errno, isNull, koffiLib, libbpf, view, type Ptr } from './ffi.js';
import type { BpfMap } from './map.js';

const PAGE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;
const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;

export type RecordHandler = (buf: Buffer, offset: number, length: number) => void;

/** Called around every drain (e.g. to write the output of a batch in one go). */
export interface DrainHooks {
  before?(): void;
  after?(): void;
}

export class RingBuffer {
  private readonly consPtr: Ptr;
  private readonly prodPtr: Ptr;
  private readonly consumer: BigUint64Array;
  private readonly producer: BigUint64Array;
  private readonly data: Buffer;
  /** the data area as u32 words, for the atomic header loads */
  private readonly words: Uint32Array;
  private readonly mask: number;
  private readonly size: number;
  private pos: number;
  private handle: { close(): void } | undefined;
  private closed = false;
  /** records consumed since open */
  consumed = 0;

  constructor(readonly map: BpfMap, private readonly onRecord: RecordHandler, private readonly hooks: DrainHooks = {}) {
    const l = libbpf();
    this.size = map.maxEntries;
    this.mask = this.size - 1;
    const cons = l.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0) as Ptr;
    if (isNull(cons) || cons === MAP_FAILED) throw new BpfError(`mmap of ring buffer ${map.name}`, errno());
    const prod = l.mmap(null, PAGE + 2 * this.size, PROT_READ, MAP_SHARED, map.fd, PAGE) as Ptr;
    if (isNull(prod) || prod === MAP_FAILED) {
      l.munmap(cons, PAGE);
      throw new BpfError(`mmap of ring buffer ${map.name}`, errno());
    }
    this.consPtr = cons;
    this.prodPtr = prod;
    this.consumer = new BigUint64Array(view(cons, PAGE), 0, 1);
    const prodAb = view(prod, PAGE + 2 * this.size);
    this.producer = new BigUint64Array(prodAb, 0, 1);
    this.data = Buffer.from(prodAb, PAGE, 2 * this.size);
    this.words = new Uint32Array(prodAb, PAGE, (2 * this.size) / 4);
    this.pos = Number(Atomics.load(this.consumer, 0));
  }

  /** Start reading whenever the kernel signals data. */
  start(): void {
    if (this.handle || this.closed) return;
    const h = koffiLib().node.poll(this.map.fd, { readable: true }, () => this.drain());
    this.handle = h;
  }

  /** Consume every committed record now; returns how many. */
  drain(): number {
    if (this.closed) return 0;
    this.hooks.before?.();
    try {
      return this.consume();
    } finally {
      this.hooks.after?.();
    }
  }

  private consume(): number {
    let n = 0;
    let prod = Number(Atomics.load(this.producer, 0));
    while (this.pos < prod) {
      const off = this.pos & this.mask;
      const hdr = Atomics.load(this.words, off >>> 2); // records are 8-byte aligned
      if (hdr & BUSY) break;
      const len = hdr & ~(BUSY | DISCARD);
      if (!(hdr & DISCARD)) {
        this.onRecord(this.data, off + HDR, len);
        n++;
        if (this.closed) return n; // the handler closed us: the memory is gone
      }
      this.pos += (len + HDR + 7) & ~7;
      Atomics.store(this.consumer, 0, BigInt(this.pos));
      if (this.pos >= prod) prod = Number(Atomics.load(this.producer, 0));
    }
    this.consumed += n;
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle?.close();
    const l = libbpf();
    l.munmap(this.prodPtr, PAGE + 2 * this.size);
    l.munmap(this.consPtr, PAGE);
  }
}

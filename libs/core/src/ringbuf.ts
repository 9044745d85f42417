/**
 * A BPF ring buffer read in place: the map is mmap'd once, libuv polls its fd on Node's own
 * event loop, and records are handed to the callback as (buffer, offset, length) views of the
 * shared memory. No FFI call and no copy per event.
 *
 * Layout (kernel/bpf/ringbuf.c): page 0 is the consumer position (ours to write); from page 1
 * the producer position, then the data area, which the kernel lets a reader map twice in a row so
 * that a record never wraps. We map it once: the kernel populates every page of the mapping at
 * mmap, so the second copy would cost its full size in resident memory (8 MB instead of 4 for the
 * tools' 4 MiB ring); the one record per lap that runs past the end is copied into a buffer of its own.
 * Each record has an 8-byte header: u32 length with BUSY (bit 31) and DISCARD (bit 30) flags, u32
 * page offset; records start 8-byte aligned, so a header itself never wraps.
 *
 * Memory order, as the kernel's producer expects (and libbpf's reader does): the producer position
 * and each record's header are read with acquire loads (the record's bytes are read only after its
 * header says it is committed), the consumer position is written with a release store (the kernel
 * may reuse the space only after we are done with it). Atomics.load/store are sequentially
 * consistent, which is at least that, on arm64 as on x86 (where plain loads would do). The consumer
 * position is published once per CONSUMER_STEP bytes read and at the end of each drain, not after
 * every record (a BigInt and an atomic store per event, for space the kernel cannot use sooner
 * than the reader gets back to it anyway).
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
/** publish the consumer position at least this often (bytes) within a long drain */
const CONSUMER_STEP = 1 << 16;
/**
 * A drain that found fewer records than this stops listening for COALESCE_MS and then drains
 * again: a reader that keeps up would otherwise be woken (and write its output) once per one or
 * two events. A record waits at most ~COALESCE_MS more; a reader that is behind never pauses.
 */
const COALESCE_BELOW = 64;
const COALESCE_MS = 1;

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
  private handle: { close(): void; stop(): void; start(opts: { readable: boolean }, cb: () => void): void } | undefined;
  private pause: NodeJS.Timeout | undefined;
  private closed = false;
  /** records consumed since open */
  consumed = 0;

  constructor(readonly map: BpfMap, private readonly onRecord: RecordHandler, private readonly hooks: DrainHooks = {}) {
    const l = libbpf();
    this.size = map.maxEntries;
    this.mask = this.size - 1;
    const cons = l.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0) as Ptr;
    if (isNull(cons) || cons === MAP_FAILED) throw new BpfError(`mmap of ring buffer ${map.name}`, errno());
    const prod = l.mmap(null, PAGE + this.size, PROT_READ, MAP_SHARED, map.fd, PAGE) as Ptr;
    if (isNull(prod) || prod === MAP_FAILED) {
      l.munmap(cons, PAGE);
      throw new BpfError(`mmap of ring buffer ${map.name}`, errno());
    }
    this.consPtr = cons;
    this.prodPtr = prod;
    this.consumer = new BigUint64Array(view(cons, PAGE), 0, 1);
    const prodAb = view(prod, PAGE + this.size);
    this.producer = new BigUint64Array(prodAb, 0, 1);
    this.data = Buffer.from(prodAb, PAGE, this.size);
    this.words = new Uint32Array(prodAb, PAGE, this.size / 4);
    this.pos = Number(Atomics.load(this.consumer, 0));
  }

  /** Start reading whenever the kernel signals data. */
  start(): void {
    if (this.handle || this.closed) return;
    const onReadable = (): void => {
      if (this.drain() >= COALESCE_BELOW || this.closed) return;
      this.handle!.stop();
      this.pause = setTimeout(() => {
        this.pause = undefined;
        if (this.closed) return;
        this.drain();
        // level-triggered: what arrived since the drain above is announced at once
        if (!this.closed) this.handle!.start({ readable: true }, onReadable);
      }, COALESCE_MS);
    };
    this.handle = koffiLib().node.poll(this.map.fd, { readable: true }, onReadable);
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
    let published = this.pos;
    const { data, words, mask, size } = this;
    while (this.pos < prod) {
      const off = this.pos & mask;
      const hdr = Atomics.load(words, off >>> 2); // records are 8-byte aligned
      if (hdr & BUSY) break;
      const len = hdr & ~(BUSY | DISCARD);
      if (!(hdr & DISCARD)) {
        const start = off + HDR;
        if (start + len <= size) this.onRecord(data, start, len);
        else if (start >= size) this.onRecord(data, start - size, len);
        else this.onRecord(this.joined(start, len), 0, len);
        n++;
        if (this.closed) break; // the handler closed us: the memory is gone
      }
      this.pos += (len + HDR + 7) & ~7;
      if (this.pos - published >= CONSUMER_STEP) {
        Atomics.store(this.consumer, 0, BigInt(this.pos));
        published = this.pos;
      }
      if (this.pos >= prod) prod = Number(Atomics.load(this.producer, 0));
    }
    if (!this.closed && this.pos !== published) Atomics.store(this.consumer, 0, BigInt(this.pos));
    this.consumed += n;
    return n;
  }

  /** A record that starts before the end of the data area and ends after it, as one piece (a new buffer each time: once per lap of the ring). */
  private joined(start: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    const first = this.size - start;
    this.data.copy(out, 0, start, this.size);
    this.data.copy(out, first, 0, len - first);
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pause) clearTimeout(this.pause);
    this.handle?.close();
    const l = libbpf();
    l.munmap(this.prodPtr, PAGE + this.size);
    l.munmap(this.consPtr, PAGE);
  }
}

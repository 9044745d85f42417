/** Readers used by the generated decoders. Kept apart from the loader so decoding costs no FFI import. */

const TWO32 = 4294967296;

/** u64 as a number: exact below 2^53, which covers timestamps, sizes and offsets. */
export function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * TWO32;
}

export function s64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readInt32LE(o + 4) * TWO32;
}

/** A NUL-terminated string in a fixed-size char array, as UTF-8. */
export function cstr(b: Buffer, o: number, size: number): string {
  let end = b.indexOf(0, o);
  if (end < 0 || end > o + size) end = o + size;
  return b.toString('utf8', o, end);
}

/** A copy of raw bytes (the ring buffer's memory is reused once the record is consumed). */
export function bytes(b: Buffer, o: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(b.subarray(o, o + size));
  return out;
}

export type RodataType = 'bool' | 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64' | 'string' | 'bytes' | 'struct';
export interface RodataVarLayout { offset: number; size: number; type: RodataType }
export type RodataLayout = Record<string, RodataVarLayout>;

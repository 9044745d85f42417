/** The text forms of a call's data. */

/** Printable as it is (text, with newlines and tabs), or dumped? */
export function printable(b: Uint8Array): boolean {
  for (const c of b) if (c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  return true;
}

/** 16 bytes a line: offset, hex, ASCII. */
export function hexdump(b: Uint8Array): string {
  const lines: string[] = [];
  for (let o = 0; o < b.length; o += 16) {
    const row = b.subarray(o, o + 16);
    const hex = Array.from(row, (x) => x.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = Array.from(row, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${o.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** What a block's header line says about a call. */
export interface Head {
  dir: '>' | '<' | 'handshake';
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  len: number;
  ret: number;
  func: string;
}

/**
 * "===== > pid=P comm=C len=N func=F", or "===== handshake pid=P comm=C ret=R"; with -x
 * " uid=U tid=T" after it, then " time=..." (-T) and " lat=...ms" (-l).
 */
export function blockHead(h: Head, o: { extra?: boolean; time?: string; latMs?: number } = {}): string {
  const ids = o.extra ? ` uid=${h.uid} tid=${h.tid}` : '';
  const tail = `${o.time !== undefined ? ` time=${o.time}` : ''}${o.latMs !== undefined ? ` lat=${o.latMs.toFixed(3)}ms` : ''}`;
  if (h.dir === 'handshake') return `===== handshake pid=${h.pid} comm=${h.comm} ret=${h.ret}${ids}${tail}`;
  return `===== ${h.dir} pid=${h.pid} comm=${h.comm} len=${h.len} func=${h.func}${ids}${tail}`;
}

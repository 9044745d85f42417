/** /proc/PID/maps, parsed. */
import { readFileSync } from 'node:fs';

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  dev: string;
  inode: number;
  /** the path as the process sees it, without the ` (deleted)` mark; '' for anonymous memory */
  path: string;
  /** the file was deleted (or replaced) after it was mapped */
  deleted: boolean;
  /** the original [start-end] text, for /proc/PID/map_files */
  range: string;
}

/**
 * One mapping per line: `start-end perms offset dev inode   path`. The path is the rest of the
 * line after the inode and its padding, so paths with spaces stay whole.
 */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)(?: +(.*))?$/.exec(line);
    if (!m) continue;
    let path = m[7] ?? '';
    let deleted = false;
    if (path.startsWith('/') && path.endsWith(' (deleted)')) {
      deleted = true;
      path = path.slice(0, -' (deleted)'.length);
    }
    out.push({
      start: BigInt('0x' + m[1]),
      end: BigInt('0x' + m[2]),
      perms: m[3],
      offset: BigInt('0x' + m[4]),
      dev: m[5],
      inode: Number(m[6]),
      path,
      deleted,
      range: `${m[1]}-${m[2]}`,
    });
  }
  return out;
}

export function readMaps(pid: number): Mapping[] {
  return parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

/** The mapping holding addr (maps are sorted by address). */
export function findMapping(maps: readonly Mapping[], addr: bigint): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid];
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

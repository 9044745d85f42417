/** Disk names from device numbers and back, through sysfs. The kernel encodes dev_t as major << 20 | minor. */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '@bpf-recipes/core';
import { BIO_F_FUA, BIO_F_META, BIO_F_PREFLUSH, BIO_F_RAHEAD, BIO_F_SYNC, BIO_PAT_RANDOM, BIO_PAT_SEQUENTIAL } from './generated/biosnoop.js';

const names = new Map<number, string>();

export const kdev = (major: number, minor: number) => (major << 20) | minor;

export function diskName(dev: number): string {
  let n = names.get(dev);
  if (n === undefined) {
    const major = dev >>> 20;
    const minor = dev & 0xfffff;
    try {
      n = /^DEVNAME=(.+)$/m.exec(readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, 'utf8'))?.[1] ?? `${major}:${minor}`;
    } catch {
      n = `${major}:${minor}`;
    }
    names.set(dev, n);
  }
  return n;
}

/** --disk NAME → the disk's dev_t; partitions are refused with the disk to use instead. */
export function diskDev(name: string): number {
  const base = `/sys/class/block/${name.replace(/^\/dev\//, '')}`;
  if (!/^[\w.-]+$/.test(name.replace(/^\/dev\//, '')) || !existsSync(`${base}/dev`)) {
    throw new UsageError(`--disk: no block device '${name}' (lsblk lists them)`);
  }
  if (existsSync(`${base}/partition`)) {
    const parent = readFileSync(`${base}/../uevent`, 'utf8').match(/^DEVNAME=(.+)$/m)?.[1];
    throw new UsageError(`--disk: ${name} is a partition: give its disk${parent ? ` (${parent})` : ''}`);
  }
  const [major, minor] = readFileSync(`${base}/dev`, 'utf8').trim().split(':').map(Number);
  return kdev(major, minor);
}

const OPS: Record<number, string> = { 0: 'R', 1: 'W', 2: 'F', 3: 'D', 5: 'E', 9: 'Z' };

/** REQ_OP_* (the kernel's, not ours) → blktrace letter */
/** blktrace-style RWBS: F(preflush) op F(fua) A(readahead) S(sync) M(meta), e.g. "WS", "RM", "FWFS". */
export function rwbs(op: number, flags: number): string {
  let s = '';
  if (flags & BIO_F_PREFLUSH) s += 'F';
  s += OPS[op] ?? 'N';
  if (flags & BIO_F_FUA) s += 'F';
  if (flags & BIO_F_RAHEAD) s += 'A';
  if (flags & BIO_F_SYNC) s += 'S';
  if (flags & BIO_F_META) s += 'M';
  return s;
}

/** -P: BIO_PAT_* → the letter bcc's biosnoop shows */
export function patternLetter(p: number): string {
  return p === BIO_PAT_SEQUENTIAL ? 'S' : p === BIO_PAT_RANDOM ? 'R' : '?';
}

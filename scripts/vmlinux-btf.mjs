#!/usr/bin/env node
// node scripts/vmlinux-btf.mjs KERNEL_IMAGE OUT.h — a vmlinux.h from a kernel image's BTF, without
// booting it: finds the .BTF blob (magic 0xeb9f, version 1, a 24-byte header whose type and string
// sections follow each other) in the image (a raw arm64 Image, or a gzip-compressed one), writes
// it to a scratch file and has bpftool print it as C. How libs/bpf-headers/include/arm64/vmlinux.h
// was made from Debian's arm64 kernel (npm run test:vm -- --arch arm64 --fetch prints its path).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const [image, out] = process.argv.slice(2);
if (!image || !out) {
  console.error('usage: node scripts/vmlinux-btf.mjs KERNEL_IMAGE OUT.h');
  process.exit(2);
}
let b = readFileSync(image);
if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
const magic = Buffer.from([0x9f, 0xeb, 1, 0]);
let best;
for (let i = b.indexOf(magic); i >= 0 && i + 24 <= b.length; i = b.indexOf(magic, i + 1)) {
  const [hdr, typeOff, typeLen, strOff, strLen] = [4, 8, 12, 16, 20].map((o) => b.readUInt32LE(i + o));
  if (hdr !== 24 || typeOff !== 0 || strOff !== typeLen) continue;
  const len = hdr + strOff + strLen;
  if (i + len <= b.length && (!best || len > best.len)) best = { at: i, len };
}
if (!best) {
  console.error(`vmlinux-btf: no BTF in ${image} (a kernel built with CONFIG_DEBUG_INFO_BTF=y, uncompressed or gzip)`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'vmlinux-btf-'));
try {
  writeFileSync(join(dir, 'btf'), b.subarray(best.at, best.at + best.len));
  writeFileSync(out, execFileSync('bpftool', ['btf', 'dump', 'file', join(dir, 'btf'), 'format', 'c'], { maxBuffer: 1 << 28 }));
  console.log(`vmlinux-btf: ${best.len} bytes of BTF at ${best.at} → ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

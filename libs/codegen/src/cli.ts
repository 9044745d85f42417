#!/usr/bin/env node
/**
 * bpf-recipes-codegen OBJECT.bpf.o OUT.ts [HEADER.h] — write the TypeScript view of a BPF object's
 * BTF: decoders, config, skeleton, and with the tool's own header its enums and #defines.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Btf } from './btf.js';
import { generateTs, readLayout } from './generate.js';

const [obj, out, header] = process.argv.slice(2);
if (!obj || !out) {
  process.stderr.write('usage: bpf-recipes-codegen OBJECT.bpf.o OUT.ts [HEADER.h]\n');
  process.exit(2);
}
try {
  if (header && !existsSync(header)) throw new Error(`no header ${header}`);
  const ts = generateTs(readLayout(obj, Btf.fromObject(obj), header ? readFileSync(header, 'utf8') : undefined));
  mkdirSync(dirname(out), { recursive: true });
  let old = '';
  try { old = readFileSync(out, 'utf8'); } catch { /* first build */ }
  if (old !== ts) writeFileSync(out, ts);
} catch (e) {
  process.stderr.write(`bpf-recipes-codegen: ${obj}: ${(e as Error).message}\n`);
  process.exit(1);
}

#!/usr/bin/env node
/** bpf-recipes-codegen OBJECT.bpf.o OUT.ts — write the TypeScript view of a BPF object's BTF. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateTs, readLayout } from './generate.js';

const [obj, out] = process.argv.slice(2);
if (!obj || !out) {
  process.stderr.write('usage: bpf-recipes-codegen OBJECT.bpf.o OUT.ts\n');
  process.exit(2);
}
try {
  const ts = generateTs(readLayout(obj));
  mkdirSync(dirname(out), { recursive: true });
  let old = '';
  try { old = readFileSync(out, 'utf8'); } catch { /* first build */ }
  if (old !== ts) writeFileSync(out, ts);
} catch (e) {
  process.stderr.write(`bpf-recipes-codegen: ${obj}: ${(e as Error).message}\n`);
  process.exit(1);
}

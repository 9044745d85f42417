// Compile a BPF fixture of the core tests the way scripts/build-bpf.mjs builds tools.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { archInfo } from '../src/arch.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');

/** Compile `<dir>/<name>.bpf.c` (the core tests' fixtures by default); `<dir>` is on the include path. */
export function buildFixture(name: string, dir = join(here, 'fixtures')): string {
  const out = join(tmpdir(), 'bpf-recipes-core-test', `${name}-${process.pid}.bpf.o`);
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('clang', [
    '-target', 'bpf', '-g', '-O2', `-D__TARGET_ARCH_${archInfo()?.target ?? arch()}`,
    '-I', join(root, 'libs', 'bpf-headers', 'include'), '-I', dir, '-c', join(dir, `${name}.bpf.c`), '-o', out,
  ]);
  return out;
}

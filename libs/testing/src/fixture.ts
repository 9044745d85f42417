/**
 * C fixtures for the tests, compiled once per content and flags into the temp dir. Apart from
 * index.ts (which imports vitest) so that a test can call it from processes of its own.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file is libs/testing/dist/fixture.js once built). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Compile a C fixture (cached by content) and return the binary's path. */
export function fixture(name: string, cflags: string[] = []): string {
  const src = join(repoRoot, 'libs', 'testing', 'fixtures', `${name}.c`);
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).update(cflags.join(' ')).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'bpf-recipes-fixtures');
  const bin = join(dir, `${name}-${hash}`, name);
  if (!existsSync(bin)) {
    mkdirSync(dirname(bin), { recursive: true });
    // tests run fixtures as other users too (nobody), whatever the umask
    for (const d of [dir, dirname(bin)]) chmodSync(d, 0o755);
    // built aside and linked into place, never over it: test files running side by side build the
    // same fixture at once, and a linker writing the path another file's test is running would
    // leave that process mapping a deleted file (its frames then unnamed once it exits), or start
    // it on a half-written one
    const part = `${bin}.${process.pid}.part`;
    execFileSync(process.env.CC ?? 'cc', ['-O1', '-o', part, src, ...cflags], { stdio: 'inherit' });
    try {
      linkSync(part, bin);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(part, { force: true });
    }
  }
  return bin;
}

// fixture(): test files running side by side build the same C fixture at once; each must get the one
// binary that stays in place (a linker writing over a path another test is running would leave that
// process on a deleted file, and the tools could no longer name its frames once it exits)
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const index = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'fixture.js');

/**
 * fixture() in a process of its own, which then holds the file open (as a running test holds its
 * binary) until told to let go, and reports whether its file is still the one at the path (links 1)
 */
function buildIn(define: string): { opened: Promise<string>; links: () => Promise<number> } {
  const code = `import(${JSON.stringify(index)}).then((t) => { const fs = require('node:fs'); const b = t.fixture('workload', [${JSON.stringify(define)}]); ` +
    `const fd = fs.openSync(b, 'r'); process.stdout.write(b + '\\n'); ` +
    `process.stdin.on('data', () => {}).on('end', () => process.stdout.write(fs.fstatSync(fd).nlink + '\\n')); })`;
  const p = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lines = (n: number) => new Promise<string[]>((res, rej) => {
    const check = () => { const l = out.split('\n').filter(Boolean); if (l.length >= n) res(l); };
    p.stdout.on('data', (d) => { out += d; check(); });
    p.on('close', (c) => (c === 0 ? check() : rej(new Error(`fixture() exited ${c}`))));
    check();
  });
  return {
    opened: lines(1).then((l) => l[0]),
    links: () => {
      p.stdin.end();
      return lines(2).then((l) => Number(l[1]));
    },
  };
}

describe('fixture()', () => {
  it('built by four processes at once: one path, one file that none of them replaced, nothing left aside', async () => {
    const define = `-DRECIPES_FIXTURE_RACE=${process.pid}${Date.now()}`; // a fixture no one has built yet
    const procs = [1, 2, 3, 4].map(() => buildIn(define));
    const paths = await Promise.all(procs.map((p) => p.opened));
    const bin = paths[0];
    try {
      expect(new Set(paths).size).toBe(1);
      // every caller's file is still the one at the path: no build went over a file another was using
      expect(await Promise.all(procs.map((p) => p.links()))).toEqual([1, 1, 1, 1]);
      expect(readdirSync(dirname(bin))).toEqual(['workload']);
    } finally {
      rmSync(dirname(bin), { recursive: true, force: true });
    }
  });
});

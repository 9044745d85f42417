// Differential (privileged): offcputime and libbpf-tools' offcputime time the same run of a
// workload that sleeps 10 × 50 ms through main → recipe_a → recipe_b → nanosleep(2). Both keep to
// the workload's PID, both are attached before it starts (it waits on stdin), and both time a
// block from sched_switch out to sched_switch in: the frames of the chain must agree and the
// totals differ only by the two programs' places at the tracepoint (and libbpf-tools' truncation
// of each block to whole microseconds).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldPrograms, interrupt, libbpfTool, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';

const here = dirname(fileURLToPath(import.meta.url));

/** libbpf-tools' text: frames one per line (leaf first), `-  comm (pid)`, then the microseconds. */
function parsePeer(text: string): { frames: string[]; us: number }[] {
  const out: { frames: string[]; us: number }[] = [];
  let frames: string[] = [];
  for (const line of text.split('\n')) {
    const n = /^\s{8}(\d+)$/.exec(line);
    if (n) {
      out.push({ frames, us: Number(n[1]) });
      frames = [];
    } else if (/^\s{4}-\s/.test(line) || line.trim() === '') {
      continue;
    } else {
      frames.push(line.trim());
    }
  }
  return out;
}

describe.skipIf(skipPrivileged())("offcputime agrees with libbpf-tools' offcputime", () => {
  let bin: string;
  let peer: string;
  beforeAll(async () => {
    bin = join(mkdtempSync(join(tmpdir(), 'offcputime-oracle-')), 'offcpu');
    execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-fno-inline', '-o', bin, join(here, 'fixtures', 'offcpu.c')]);
    peer = await libbpfTool('offcputime');
  }, 300000); // libbpfTool may wait out the .deb test
  afterAll(() => {
    if (bin) rmSync(dirname(bin), { recursive: true, force: true });
    if (peer) rmSync(dirname(peer), { recursive: true, force: true });
  });

  it('the same chain, and the same time off CPU within a millisecond in 500', async () => {
    const w = spawn(bin, ['sleep', '10', '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let said = '';
    const saw = (word: string) => new Promise<void>((res) => {
      const check = () => said.includes(`${word}\n`) && res();
      w.stdout!.on('data', (d: Buffer) => ((said += d.toString()), check()));
      check();
    });
    await saw('ready');
    const pid = w.pid!;
    const ours = await startTool('offcputime', ['-p', String(pid), '--format', 'folded']);
    const theirs = watch(peer, ['-p', String(pid)]);
    const until = Date.now() + 20000;
    while (heldPrograms(theirs.proc.pid!).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(heldPrograms(theirs.proc.pid!).length, theirs.stderr()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200)); // its links follow its programs
    w.stdin!.write('go\n');
    await saw('done');
    await ours.stop('SIGINT');
    expect(await interrupt(theirs), theirs.stderr()).toBe(0);
    const exited = new Promise((r) => w.on('exit', r));
    w.stdin!.end();
    await exited;

    const mineRows = ours.lines().filter(Boolean).map((l) => {
      const m = /^(.*) (\d+)$/.exec(l)!;
      return { frames: m[1].split(';').reverse(), us: Number(m[2]) }; // leaf first, as theirs
    });
    const chain = (frames: string[]) => frames.includes('recipe_b') && frames.includes('do_nanosleep');
    const mine = mineRows.filter((r) => chain(r.frames));
    const peerRows = parsePeer(theirs.stdout()).filter((r) => chain(r.frames));
    expect(mine, ours.stdout()).toHaveLength(1);
    expect(peerRows, theirs.stdout()).toHaveLength(1);
    // theirs keeps the BPF program's frames on top; below them the kernel frames are the same,
    // and the user frames from recipe_b to main
    const kernelOf = (f: string[]) => f.slice(0, f.indexOf('recipe_b'));
    const theirKernel = kernelOf(peerRows[0].frames).filter((f) => !/^(bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_|bpf_trampoline_)/.test(f));
    expect(kernelOf(mine[0].frames)).toEqual(theirKernel);
    const userOf = (f: string[]) => f.slice(f.indexOf('recipe_b'), f.indexOf('main') + 1);
    expect(userOf(mine[0].frames)).toEqual(['recipe_b', 'recipe_a', 'main']);
    expect(userOf(peerRows[0].frames)).toEqual(['recipe_b', 'recipe_a', 'main']);
    expect(peerRows[0].us).toBeGreaterThan(10 * 49_000);
    expect(Math.abs(mine[0].us - peerRows[0].us), `ours ${mine[0].us} us, theirs ${peerRows[0].us} us`).toBeLessThanOrEqual(1000);
  });
});

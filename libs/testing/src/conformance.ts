/**
 * The command-line behaviour every tool must have (DESIGN.md §4), as one shared suite:
 * SIGINT/SIGTERM/SIGHUP detach with exit 0 and leave none of the tool's programs loaded; a reader
 * that goes away (`| head -1`) ends the tool quietly; bad input is one line on stderr and exit 2.
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { heldPrograms, programsStillLoaded, runToolSync, scaledMs, startTool, toolBin } from './index.js';

export interface ConformanceOptions {
  tool: string;
  /** arguments for the signal runs */
  args?: string[];
  /** how many BPF programs the tool holds with those arguments */
  programs: number;
  /** make the tool print something (called repeatedly until the pipe closes) */
  drive: () => Promise<unknown>;
  /** arguments that must each be refused with exit 2 */
  badInput: string[][];
  /** the summary a tool prints at stop, checked after SIGINT */
  summary?: RegExp;
}

export function cliConformance(o: ConformanceOptions): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} detaches: exit 0, none of its programs left in the kernel`, async () => {
      const tool = await startTool(o.tool, o.args ?? []);
      const ids = heldPrograms(tool.pid);
      expect(ids).toHaveLength(o.programs);
      const { code, signal } = await tool.stop(sig);
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      if (o.summary) expect(tool.stdout()).toMatch(o.summary);
      expect(await programsStillLoaded(ids)).toEqual([]);
    });
  }

  it('| head -1 ends it quietly once the reader is gone', async () => {
    const sh = spawn('sh', ['-c', `"${toolBin(o.tool)}" ${(o.args ?? []).join(' ')} | head -1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let code: number | null | undefined;
    sh.stdout.on('data', (d) => (out += d));
    sh.stderr.on('data', (d) => (err += d));
    sh.on('close', (c) => (code = c));
    const ready = Date.now() + scaledMs(20000);
    while (!/Tracing/.test(err) && code === undefined && Date.now() < ready) await new Promise((r) => setTimeout(r, 50));
    const end = Date.now() + scaledMs(15000);
    while (code === undefined && Date.now() < end) {
      await o.drive();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(err).not.toMatch(/Error|EPIPE|\n\s+at /);
  });

  it('bad input: one line naming the problem, exit 2, nothing on stdout', () => {
    // every tool has these: an unknown option, and options whose value is missing
    const always = [['--no-such-option'], ['--duration'], ['-d'], ['-u'], ['--uid', '-T']];
    for (const args of [...o.badInput, ...always]) {
      const r = runToolSync(o.tool, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^${o.tool}: `));
      expect(r.stderr).not.toMatch(/Tracing/);
    }
  });
}

// Privileged: killsnoop --metrics --metrics-by comm. Three copies of the workload fixture under
// names no other process has (one prefix, so -n keeps only them) each send SIGTERM to a PID that
// does not exist (ESRCH) a known number of times: 3, 2, 1. --metrics-top 2: the two largest keep
// their comm (the sender's), the third is comm="other".
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROMTOOL, fixture, freePort, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('killsnoop --metrics-by', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-kill-mby-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = `kb${process.pid % 100000}`;

  it('comm: the top 2 senders with their exact counts, the third in comm="other"; promtool clean', async () => {
    const bins = ['a', 'b', 'c'].map((t) => {
      const bin = join(dir, `${prefix}${t}`);
      copyFileSync(fixture('killsnoop-workload'), bin);
      chmodSync(bin, 0o755);
      return bin;
    });
    const port = await freePort();
    const tool = await startTool('killsnoop', ['--json', '-n', prefix, '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'comm', '--metrics-top', '2']);
    try {
      for (const [i, n] of [3, 2, 1].entries()) for (let k = 0; k < n; k++) await run(bins[i], ['kill', '4194000', '15']);
      await tool.waitForLine(new RegExp(`${prefix}c`));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text.split('\n').filter((l) => l.startsWith('bpf_recipes_signals_total{')).sort()).toEqual([
        `bpf_recipes_signals_total{signal="SIGTERM",result="ESRCH",comm="${prefix}a"} 3`,
        `bpf_recipes_signals_total{signal="SIGTERM",result="ESRCH",comm="${prefix}b"} 2`,
        'bpf_recipes_signals_total{signal="SIGTERM",result="ESRCH",comm="other"} 1',
      ].sort());
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
  });
});

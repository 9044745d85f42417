// Privileged: the VM lane's watchdog (scripts/vm/run.mjs). A guest that prints nothing for --stall
// seconds (hung, or soft-locked and printing only kernel messages) is stopped, with its last console
// lines and where its vCPUs were (their program counters, named), long before the lane's --timeout; a fresh guest runs again (--stall-retries, here 1), and a
// second stall is exit 124.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('test:vm watchdog', () => {
  it('a guest silent for --stall seconds is stopped with its last lines, booted once more, and then exit 124, not at --timeout (1200 s)', async () => {
    const t0 = Date.now();
    const p = spawn('node', [join(repoRoot, 'scripts', 'vm', 'run.mjs'), '--stall', '120', '--stall-retries', '1', '--timeout', '1200', '--', 'sh', '-c', 'echo guest-started; sleep 600; echo never'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    const secs = (Date.now() - t0) / 1000;
    expect(code, err).toBe(124);
    // two boots, each stopped by the watchdog, one retry between them
    expect(out.match(/^guest-started$/gm)).toHaveLength(2);
    expect(out).not.toMatch(/^never$/m);
    expect(err.match(/^test:vm: the guest printed nothing but kernel messages for 120 s: stopped \(--stall\); its last console lines:$/gm)).toHaveLength(2);
    expect(err.match(/^test:vm: the guest stalled; booting a fresh one and running again \(--stall-retries 1\)$/gm)).toHaveLength(1);
    expect(err).toMatch(/^ {2}\| guest-started$/m);
    // before each stop, where each vCPU was: its program counter read over QEMU's monitor, named
    // from the kernel's System.map (an idle guest: both in the kernel's idle path)
    expect(err.match(/^test:vm: the stalled guest's vCPUs \(QEMU monitor, program counter sampled 5 times\):$/gm)).toHaveLength(2);
    for (const cpu of [0, 1]) expect(err.match(new RegExp(`^ {2}vCPU ${cpu}: [A-Za-z_][\\w.]*\\+0x[0-9a-f]+ \\([1-5] of 5\\)`, 'gm')), err).toHaveLength(2);
    expect(secs).toBeLessThan(900); // two boots, 120 s of silence each, the check every 5 s: far from --timeout's 1200
  }, 1_100_000);
});

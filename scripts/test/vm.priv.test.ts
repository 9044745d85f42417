// Privileged: the VM lane's watchdog (scripts/vm/run.mjs). A guest that prints nothing for --stall
// seconds (hung, or soft-locked and printing only kernel messages) is stopped: exit 124, with its
// last console lines, long before the lane's --timeout.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('test:vm watchdog', () => {
  it('a guest silent for --stall seconds is stopped with exit 124 and its last lines, not at --timeout (1200 s)', async () => {
    const t0 = Date.now();
    const p = spawn('node', [join(repoRoot, 'scripts', 'vm', 'run.mjs'), '--stall', '180', '--timeout', '1200', '--', 'sh', '-c', 'echo guest-started; sleep 600; echo never'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    const secs = (Date.now() - t0) / 1000;
    expect(code, err).toBe(124);
    expect(out).toMatch(/^guest-started$/m);
    expect(out).not.toMatch(/^never$/m);
    expect(err).toMatch(/^test:vm: the guest printed nothing but kernel messages for 180 s: stopped \(--stall\); its last console lines:$/m);
    expect(err).toMatch(/^ {2}\| guest-started$/m);
    expect(secs).toBeLessThan(600); // boot, 180 s of silence, the check every 5 s: far from --timeout's 1200
  }, 900_000);
});

// Privileged: names of a stripped program's user frames, as the real stackcount prints them, from
// where distributions put them: MiniDebugInfo (.gnu_debugdata, made here with binutils and xz as
// Fedora's find-debuginfo does) and a debuginfod server (a local one this test runs, named by
// DEBUGINFOD_URLS). Without either, each frame keeps its module and offset.
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeMiniDebugInfo, skipPrivileged, startDebuginfod, startTool, type DebuginfodServer } from '@bpf-recipes/testing';

const CHAIN = ['main', 'outer', 'middle', 'inner'];

/** stackcount -U at getppid's tracepoint on `bin getppid` for a while: its folded stacks (root first, no comm), and stderr. */
async function getppidStacks(bin: string, env: NodeJS.ProcessEnv): Promise<{ stacks: string[][]; err: string }> {
  const w = spawn(bin, ['getppid'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((res, rej) => {
      w.on('exit', (c) => rej(new Error(`${bin} exited (${c})`)));
      w.stdout!.on('data', (d) => /ready/.test(String(d)) && res());
    });
    const t = await startTool('stackcount', ['-p', String(w.pid), '-U', '-v', '--format', 'folded', 'syscalls:sys_enter_getppid'], { env });
    await new Promise((r) => setTimeout(r, 1500));
    await t.stop();
    const stacks = t
      .stdout()
      .split('\n')
      .filter((l) => / \d+$/.test(l))
      .map((l) => l.slice(0, l.lastIndexOf(' ')).split(';').slice(1));
    return { stacks, err: t.stderr() };
  } finally {
    w.stdin!.end();
    w.kill();
  }
}

function holds(frames: string[], chain: string[]): boolean {
  for (let i = 0; i + chain.length <= frames.length; i++) if (chain.every((c, j) => frames[i + j] === c)) return true;
  return false;
}

describe.skipIf(skipPrivileged())('names of stripped programs: MiniDebugInfo and debuginfod', () => {
  let dir: string;
  let full: string;
  let stripped: string;
  let buildId: string;
  let server: DebuginfodServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'debuginfo-priv-'));
    full = join(dir, 'chain-full');
    copyFileSync(fixture('unwind-chain', ['-O0', '-fno-omit-frame-pointer', '-pthread', '-Wl,--build-id']), full);
    stripped = join(dir, 'chain-stripped');
    execFileSync('strip', ['--strip-all', '-o', stripped, full]);
    buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', full], { encoding: 'utf8' }))![1];
    server = await startDebuginfod();
    server.add(buildId, full);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without debug information: the chain is module+offset frames, and nothing is fetched without DEBUGINFOD_URLS', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const { stacks } = await getppidStacks(stripped, { DEBUGINFOD_URLS: '', XDG_CACHE_HOME: cache });
    expect(stacks.length).toBeGreaterThan(0);
    for (const s of stacks) {
      expect(s.some((f) => CHAIN.includes(f)), s.join(';')).toBe(false);
      expect(s.filter((f) => /^\[unknown\] \(chain-stripped\+0x[0-9a-f]+\)$/.test(f)).length, s.join(';')).toBeGreaterThanOrEqual(4);
    }
    expect(await server.requests()).toEqual([]);
    expect(existsSync(join(cache, 'debuginfod_client'))).toBe(false);
  });

  it('MiniDebugInfo: the names in .gnu_debugdata name the whole chain', async () => {
    const mini = join(dir, 'chain-mini');
    makeMiniDebugInfo(full, mini);
    expect(execFileSync('nm', [mini], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
    const { stacks } = await getppidStacks(mini, { DEBUGINFOD_URLS: '' });
    expect(stacks.length).toBeGreaterThan(0);
    for (const s of stacks) expect(holds(s, CHAIN), s.join(';')).toBe(true);
  });

  it('DEBUGINFOD_URLS: the debug file fetched by build-id into the cache names the chain; -v says so', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const before = (await server.requests()).length;
    const { stacks, err } = await getppidStacks(stripped, { DEBUGINFOD_URLS: server.url, XDG_CACHE_HOME: cache });
    expect(stacks.length).toBeGreaterThan(0);
    for (const s of stacks) expect(holds(s, CHAIN), s.join(';')).toBe(true);
    expect((await server.requests()).slice(before)).toEqual([`/buildid/${buildId}/debuginfo`]);
    const cached = join(cache, 'debuginfod_client', buildId, 'debuginfo');
    expect(statSync(cached).size).toBe(statSync(full).size);
    expect(err).toMatch(new RegExp(`debuginfod: ${buildId} from ${server.url.replace(/\./g, '\\.')} \\(\\d+ KiB, \\d+ ms\\)`));
  });
});

// Privileged, and changing the system: the three ways users get the tools, from a clean state.
//  1. npm tarballs of every package, installed into an empty directory from the tarballs alone;
//  2. the .deb bundle, installed with apt from the file, and through a local apt repository;
//  3. removal leaves nothing of the package behind.
// The apt tests install and remove a package: they run under CI=true or BPF_RECIPES_SYSTEM_TESTS=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, repoRoot, run, skipPrivileged, uniquePath } from '@bpf-recipes/testing';

const system = process.env.CI === 'true' || process.env.BPF_RECIPES_SYSTEM_TESTS === '1';
const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

/** Run an installed opensnoop against a workload and return its events for the workload's path. */
async function traceWith(bin: string): Promise<{ events: { pid: number; path: string }[]; pid: number }> {
  const workload = fixture('workload');
  const path = uniquePath('ship');
  writeFileSync(path, 'x');
  const { spawn } = await import('node:child_process');
  const p = spawn(bin, ['--json', '-n', 'workload'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const end = Date.now() + 20000;
  while (!/Tracing/.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  expect(err).toMatch(/Tracing/);
  const w = await run(workload, ['open', path, '5']);
  await new Promise((r) => setTimeout(r, 300));
  p.kill('SIGINT');
  await new Promise((r) => p.on('close', r));
  rmSync(path, { force: true });
  return { pid: w.pid, events: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.path === path) };
}

describe.skipIf(skipPrivileged())('shipping', () => {
  beforeAll(() => {
    sh('npm', ['run', 'pack:all'], { cwd: repoRoot });
  }, 300000);

  it('npm tarballs alone, in an empty directory: npx opensnoop --help and a real trace, no build step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-npx-'));
    try {
      sh('npm', ['init', '-y'], { cwd: dir });
      const tgz = readdirSync(join(repoRoot, 'dist-packages')).filter((f) => f.endsWith('.tgz')).map((f) => join(repoRoot, 'dist-packages', f));
      sh('npm', ['install', '--no-audit', '--no-fund', ...tgz], { cwd: dir });
      expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false);
      expect(existsSync(join(dir, 'node_modules', '@bpf-recipes', 'opensnoop', 'dist', 'bpf', 'opensnoop.bpf.o'))).toBe(true);
      expect(existsSync(join(dir, 'node_modules', '@bpf-recipes', 'opensnoop', 'src'))).toBe(false);
      const help = sh('npx', ['--no-install', 'opensnoop', '--help'], { cwd: dir });
      expect(help).toMatch(/^opensnoop \[options\]/);
      const { events, pid } = await traceWith(join(dir, 'node_modules', '.bin', 'opensnoop'));
      expect(events).toHaveLength(5);
      expect(events.every((e) => e.pid === pid)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300000);

  describe.skipIf(!system)('the .deb bundle (changes the system: CI or BPF_RECIPES_SYSTEM_TESTS=1)', () => {
    let deb: string;
    let repo: string;
    const list = '/etc/apt/sources.list.d/bpf-recipes-test.list';
    const hadPeers = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libbpf-tools'], { encoding: 'utf8' }).stdout.includes('install ok installed');
    beforeAll(() => {
      sh('node', [join(repoRoot, 'scripts', 'package-deb.mjs')], { cwd: repoRoot });
      deb = join(repoRoot, 'dist-packages', readdirSync(join(repoRoot, 'dist-packages')).find((f) => f.endsWith('.deb'))!);
    }, 300000);
    afterAll(() => {
      spawnSync('apt-get', ['purge', '-y', 'bpf-recipes'], { stdio: 'ignore' });
      rmSync(list, { force: true });
      if (repo) rmSync(repo, { recursive: true, force: true });
      // the peers this machine had (same command names) come back
      if (hadPeers) spawnSync('apt-get', ['install', '-y', 'libbpf-tools'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }, 300000);

    const installedFiles = () => sh('dpkg-query', ['-L', 'bpf-recipes']).trim().split('\n').filter((f) => f && !lstatSync(f).isDirectory());

    it('installs from the .deb: commands in /usr/sbin, man pages, a real trace; remove leaves nothing', async () => {
      sh('apt-get', ['install', '-y', deb]);
      const files = installedFiles();
      expect(files).toContain('/usr/sbin/opensnoop');
      expect(files).toContain('/usr/sbin/bpf-recipes');
      expect(files).toContain('/usr/share/man/man8/opensnoop.8.gz');
      expect(sh('man', ['-w', 'opensnoop']).trim()).toBe('/usr/share/man/man8/opensnoop.8.gz');
      expect(sh('man', ['-P', 'cat', 'opensnoop'])).toMatch(/--flag-filter/);
      // bash completion where bash-completion loads it by command name, completing through /usr/sbin/bpf-recipes
      expect(files).toContain('/usr/share/bash-completion/completions/bpf-recipes');
      expect(files).toContain('/usr/share/bash-completion/completions/opensnoop');
      const reply = sh('bash', ['-c', 'PATH=/usr/sbin:$PATH; source /usr/share/bash-completion/completions/opensnoop; COMP_WORDS=(opensnoop --tim); COMP_CWORD=1; _bpf-recipes_yargs_completions; printf "%s\\n" "${COMPREPLY[@]}"']);
      expect(reply.trim().split('\n')).toEqual(['--timestamp']);
      const { events, pid } = await traceWith('/usr/sbin/opensnoop');
      expect(events).toHaveLength(5);
      expect(events.every((e) => e.pid === pid)).toBe(true);
      const doctor = JSON.parse(sh('/usr/sbin/bpf-recipes', ['doctor', '--json']));
      expect(doctor.tools.every((t: { ok: boolean }) => t.ok)).toBe(true);
      sh('apt-get', ['remove', '-y', 'bpf-recipes']);
      expect(files.filter((f) => existsSync(f) || (() => { try { lstatSync(f); return true; } catch { return false; } })())).toEqual([]);
      expect(existsSync('/usr/lib/bpf-recipes')).toBe(false);
    }, 300000);

    it('installs through apt from a local repository, and purges cleanly', async () => {
      repo = mkdtempSync(join(tmpdir(), 'bpf-recipes-apt-'));
      chmodSync(repo, 0o755); // apt fetches as the unprivileged _apt user
      execFileSync('cp', [deb, repo]);
      writeFileSync(join(repo, 'Packages'), sh('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo }));
      writeFileSync(list, `deb [trusted=yes] file:${repo} ./\n`);
      // refresh only this source: no other repository is touched
      sh('apt-get', ['update', '-o', `Dir::Etc::sourcelist=${list}`, '-o', 'Dir::Etc::sourceparts=-', '-o', 'APT::Get::List-Cleanup=0']);
      expect(sh('apt-cache', ['policy', 'bpf-recipes'])).toMatch(new RegExp(`file:${repo}`));
      sh('apt-get', ['install', '-y', 'bpf-recipes']);
      const { events } = await traceWith('/usr/sbin/opensnoop');
      expect(events).toHaveLength(5);
      const files = installedFiles();
      sh('apt-get', ['purge', '-y', 'bpf-recipes']);
      expect(files.filter((f) => { try { lstatSync(f); return true; } catch { return false; } })).toEqual([]);
      expect(spawnSync('dpkg-query', ['-W', 'bpf-recipes'], { encoding: 'utf8' }).stdout.trim()).toBe('');
    }, 300000);
  });
});

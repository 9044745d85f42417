// Privileged, and changing the system: the three ways users get the tools, from a clean state, and
// on the oldest Node.js the packages support (scripts/node18.mjs: 18.19, from the npm registry).
//  1. npm tarballs installed into an empty directory from the tarballs alone: one tool's runtime
//     closure (<= 10 MB: nothing bundled at build time is downloaded), every --help, and real traces
//     (a tracepoint tool, a summary tool, a uprobe tool) under Node 18;
//  2. the .deb bundle, installed with apt beside Debian's libbpf-tools (commands of the same names):
//     both opensnoops run, /usr/sbin follows which package owns each name, removal leaves theirs;
//     and through a local apt repository;
//  3. removal leaves nothing of the package behind.
// The apt tests install and remove packages: they run under CI=true or BPF_RECIPES_SYSTEM_TESTS=1.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, repoRoot, run, skipPrivileged, uniquePath } from '@bpf-recipes/testing';
import { NODE18, node18Bin } from '../../../scripts/node18.mjs';

const system = process.env.CI === 'true' || process.env.BPF_RECIPES_SYSTEM_TESTS === '1';
const sh = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...opts.env }, timeout: 300000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const exists = (f: string) => {
  try {
    lstatSync(f);
    return true;
  } catch {
    return false;
  }
};
const tarballs = () => readdirSync(join(repoRoot, 'dist-packages')).filter((f) => f.endsWith('.tgz')).map((f) => join(repoRoot, 'dist-packages', f));
const owner = (path: string) => spawnSync('dpkg-query', ['-S', path], { encoding: 'utf8' }).stdout.split(':')[0].trim();
/** a path in /usr/sbin is there, is the package's, and does not lead to ours */
const isTheirs = (c: string) => exists(`/usr/sbin/${c}`) && owner(`/usr/sbin/${c}`) === 'libbpf-tools' && !realpathSync(`/usr/sbin/${c}`).startsWith('/usr/lib/bpf-recipes/');
const registered = (c: string) => spawnSync('update-alternatives', ['--query', c], { stdio: 'ignore' }).status === 0;

/** The environment that makes the launchers' `#!/usr/bin/env node` find Node 18. */
let node18Env: NodeJS.ProcessEnv;

/** Start a command that prints readiness on one of its streams; returns it with its output so far. */
async function startTracer(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const closed = new Promise((r) => p.on('close', r));
  const end = Date.now() + 20000;
  while (!ready.test(out + err) && p.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (!ready.test(out + err)) throw new Error(`${cmd} ${args.join(' ')} did not get ready:\n${out}\n${err}`);
  // the Node that runs it (for the umbrella: the umbrella's own)
  const exe = readlinkSync(`/proc/${p.pid}/exe`);
  return {
    exe,
    async stop() {
      p.kill('SIGINT');
      await closed;
      return { out, err };
    },
  };
}

/** Run an installed opensnoop (or `bpf-recipes opensnoop`) against a workload: its events for the workload's path. */
async function traceWith(cmd: string, pre: string[] = [], env = node18Env) {
  const path = uniquePath('ship');
  writeFileSync(path, 'x');
  const t = await startTracer(cmd, [...pre, '--json', '-n', 'workload'], /Tracing/, env);
  const w = await run(fixture('workload'), ['open', path, '5']);
  await new Promise((r) => setTimeout(r, 300));
  const { out } = await t.stop();
  rmSync(path, { force: true });
  const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.path === path);
  return { events, pid: w.pid, exe: t.exe };
}

/** libbpf-tools' opensnoop (C, its own output): the lines naming the workload's path. */
async function traceWithPeer(cmd: string) {
  const path = uniquePath('ship-peer');
  writeFileSync(path, 'x');
  const t = await startTracer('stdbuf', ['-oL', cmd, '-n', 'workload'], /PID\s+COMM/, process.env);
  const w = await run(fixture('workload'), ['open', path, '4']);
  await new Promise((r) => setTimeout(r, 500));
  const { out } = await t.stop();
  rmSync(path, { force: true });
  return { lines: out.split('\n').filter((l) => l.includes(path)), pid: w.pid };
}

describe.skipIf(skipPrivileged())('shipping', () => {
  let node18: string;
  beforeAll(() => {
    sh('npm', ['run', 'pack:all'], { cwd: repoRoot });
    node18 = node18Bin();
    node18Env = { ...process.env, PATH: `${node18}:${process.env.PATH}` };
    expect(sh('node', ['--version'], { env: node18Env }).trim()).toBe(`v${NODE18}`);
  }, 300000);

  describe('npm tarballs, installed into empty directories, run on Node 18', () => {
    let one: string; // one tool and its libraries, as `npx opensnoop` installs it
    let all: string; // every package
    beforeAll(() => {
      one = mkdtempSync(join(tmpdir(), 'bpf-recipes-npx-'));
      all = mkdtempSync(join(tmpdir(), 'bpf-recipes-npm-'));
      const tgz = tarballs();
      const mine = tgz.filter((f) => /bpf-recipes-(opensnoop|cli|core|format|runtime)-[\d.]+\.tgz$/.test(f));
      expect(mine).toHaveLength(5);
      for (const [dir, files] of [[one, mine], [all, tgz]] as const) {
        sh('npm', ['init', '-y'], { cwd: dir });
        sh('npm', ['install', '--no-audit', '--no-fund', ...files], { cwd: dir });
      }
    }, 300000);
    afterAll(() => {
      for (const d of [one, all]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('one tool installs in <= 10 MB: its libraries, koffi, cli-table3; nothing the build bundled', async () => {
      const kib = Number(execFileSync('du', ['-sk', join(one, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
      expect(kib).toBeLessThanOrEqual(10 * 1024);
      const installed = readdirSync(join(one, 'node_modules'));
      expect(installed).toEqual(expect.arrayContaining(['@bpf-recipes', 'koffi', 'cli-table3']));
      expect(installed).not.toContain('date-fns');
      expect(installed).not.toContain('typescript');
      // --metrics' packages are an optional peer: not downloaded for one tool
      expect(installed).not.toContain('prom-client');
      expect(installed).not.toContain('@opentelemetry');
      expect(readdirSync(join(one, 'node_modules', '@bpf-recipes')).sort()).toEqual(['cli', 'core', 'format', 'opensnoop', 'runtime']);
      // one object per architecture the package's "cpu" names
      expect(readdirSync(join(one, 'node_modules', '@bpf-recipes', 'opensnoop', 'dist', 'bpf')).filter((f) => f.endsWith('.o')).sort()).toEqual(['opensnoop.arm64.bpf.o', 'opensnoop.x86.bpf.o']);
      expect(JSON.parse(readFileSync(join(one, 'node_modules', '@bpf-recipes', 'opensnoop', 'package.json'), 'utf8')).cpu).toEqual(['x64', 'arm64']);
      expect(existsSync(join(one, 'node_modules', '@bpf-recipes', 'opensnoop', 'src'))).toBe(false);
      const { events, pid, exe } = await traceWith(join(one, 'node_modules', '.bin', 'opensnoop'));
      expect(exe).toBe(join(node18, 'node'));
      expect(events).toHaveLength(5);
      expect(events.every((e) => e.pid === pid)).toBe(true);
      // @bpf-recipes/metrics (prom-client) is an optional peer: not installed here, so --metrics says
      // what to install, exit 1, nothing attached (it stops before the object is opened)
      const m = spawnSync(join(one, 'node_modules', '.bin', 'opensnoop'), ['--metrics', '127.0.0.1:1'], {
        encoding: 'utf8', env: { ...node18Env, BPF_RECIPES_TIMING: '1' },
      });
      expect(m.status).toBe(1);
      expect(m.stdout).toBe('');
      expect(m.stderr.split('\n').filter((l) => !l.includes('timing:'))).toEqual([
        'opensnoop: --metrics needs the @bpf-recipes/metrics package: npm install -g @bpf-recipes/metrics (or use the bpf-recipes bundle)', '',
      ]);
      expect(m.stderr).not.toMatch(/timing: (preflight done|object opened|loaded|attached)/);
    }, 120000);

    it('with every package (the umbrella depends on @bpf-recipes/metrics), --metrics serves on Node 18', async () => {
      expect(readdirSync(join(all, 'node_modules'))).toContain('prom-client');
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      await new Promise((r) => server.close(r));
      const t = await startTracer(join(all, 'node_modules', '.bin', 'opensnoop'), ['--metrics', `127.0.0.1:${port}`, '-n', 'no-such-comm'], /Tracing/, node18Env);
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(text).toMatch(/^bpf_recipes_build_info\{tool="opensnoop",version="[\d.]+"\} 1$/m);
        expect(text).toMatch(/^bpf_recipes_events_lost_total\{tool="opensnoop"\} 0$/m);
      } finally {
        await t.stop();
      }
    }, 60000);

    it('every command prints its --help on Node 18 (opensnoop through npx --no-install)', () => {
      // our dependencies' own commands (koffi's; bcryptjs's and yaml's, of @bpf-recipes/metrics) are theirs, not ours
      const bins = readdirSync(join(all, 'node_modules', '.bin')).filter((b) => !['koffi', 'bcrypt', 'yaml'].includes(b)).sort();
      expect(bins).toEqual(['biosnoop', 'bpf-recipes', 'gethostlatency', 'killsnoop', 'offcputime', 'opensnoop', 'profile', 'python-exec-hook', 'sslsnoop', 'stackcount', 'syscount', 'syslatency', 'udplife']);
      expect(sh('npx', ['--no-install', 'opensnoop', '--help'], { cwd: all, env: node18Env })).toMatch(/^opensnoop \[options\] \[-- COMMAND \[ARGS\.\.\.\]\]\n/);
      for (const b of bins) {
        const help = sh(join(all, 'node_modules', '.bin', b), ['--help'], { env: node18Env });
        expect(help, b).toMatch(b === 'bpf-recipes' ? /^bpf-recipes COMMAND/ : new RegExp(`^${b} ${{ stackcount: 'CATEGORY:EVENT ', syslatency: '\\[SYSCALL\\.\\.\\.\\] ' }[b] ?? ''}\\[options\\] \\[-- COMMAND \\[ARGS\\.\\.\\.\\]\\]\\n`));
        expect(help, b).toMatch(/--help/);
      }
    });

    it('syscount on Node 18 counts exactly the workload\'s write(2) calls', async () => {
      const w: ChildProcess = spawn(fixture('workload', ['-static']), ['write', '25'], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
      const t = await startTracer(join(all, 'node_modules', '.bin', 'syscount'), ['--json', '-p', String(w.pid)], /Tracing/, node18Env);
      expect(t.exe).toBe(join(node18, 'node'));
      w.stdin!.end('go\n');
      await new Promise((r) => w.on('close', r));
      const { out } = await t.stop();
      const s = Object.fromEntries(JSON.parse(out.trim().split('\n')[0]).syscalls.map((x: { name: string }) => [x.name, x]));
      expect(s.write).toMatchObject({ count: 25, errors: 0 });
      expect(s.read).toMatchObject({ count: 1, errors: 0 }); // its go-line
    });

    it('gethostlatency (uprobes on libc) on Node 18 times exactly the workload\'s lookups', async () => {
      const t = await startTracer(join(all, 'node_modules', '.bin', 'gethostlatency'), ['--json'], /Tracing/, node18Env);
      expect(t.exe).toBe(join(node18, 'node'));
      const w = await run(fixture('gethostlatency-workload'), ['getaddrinfo', 'localhost', '3']);
      expect(w.stdout).toBe('0\n'.repeat(3));
      await new Promise((r) => setTimeout(r, 300));
      const { out } = await t.stop();
      const mine = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.pid === w.pid);
      expect(mine).toHaveLength(3);
      for (const e of mine) expect(e).toMatchObject({ func: 'getaddrinfo', host: 'localhost', ret: 0 });
    });

    it('bpf-recipes doctor on Node 18: koffi loads libbpf, every tool works here', () => {
      const doctor = JSON.parse(sh(join(all, 'node_modules', '.bin', 'bpf-recipes'), ['doctor', '--json'], { env: node18Env }));
      expect(doctor.tools.map((t: { tool: string; ok: boolean }) => [t.tool, t.ok])).toEqual(doctor.tools.map((t: { tool: string }) => [t.tool, true]));
      expect(doctor.tools).toHaveLength(12);
    });
  });

  it('npm run package:deb -- --arch arm64: an arm64 .deb with arm64 koffi and every tool\'s arm64 object (the arm64 VM lane installs and runs it)', () => {
    sh('node', [join(repoRoot, 'scripts', 'package-deb.mjs'), '--arch', 'arm64'], { cwd: repoRoot });
    const deb = join(repoRoot, 'dist-packages', 'bpf-recipes_0.1.0_arm64.deb');
    expect(sh('dpkg-deb', ['-f', deb, 'Architecture']).trim()).toBe('arm64');
    const files = sh('dpkg-deb', ['--contents', deb]).split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/ -> .*/, ''));
    expect(files.filter((f) => f.endsWith('/koffi.node')).map((f) => f.replace(/.*node_modules\//, ''))).toEqual(['@koromix/koffi-linux-arm64/linux_arm64/koffi.node', '@koromix/koffi-linux-arm64/musl_arm64/koffi.node']);
    const objects = files.filter((f) => f.endsWith('.bpf.o')).map((f) => f.split('/').pop()!);
    expect(objects.filter((f) => f.endsWith('.arm64.bpf.o'))).toHaveLength(13);
    expect(objects.filter((f) => f.endsWith('.x86.bpf.o'))).toHaveLength(13);
    const r = spawnSync('node', [join(repoRoot, 'scripts', 'package-deb.mjs'), '--arch', 'mips'], { encoding: 'utf8' });
    expect([r.status, r.stderr.trim()]).toEqual([2, 'package-deb: --arch mips: not one of amd64, arm64 (usage: npm run package:deb [-- --arch amd64|arm64])']);
  }, 300000);

  describe.skipIf(!system)('the .deb bundle (changes the system: CI or BPF_RECIPES_SYSTEM_TESTS=1)', () => {
    let deb: string;
    let repo: string;
    const list = '/etc/apt/sources.list.d/bpf-recipes-test.list';
    const peerInstalled = () => spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libbpf-tools'], { encoding: 'utf8' }).stdout.includes('install ok installed');
    const hadPeers = peerInstalled();
    const ours = (c: string) => `/usr/lib/bpf-recipes/node_modules/@bpf-recipes/${c === 'bpf-recipes' ? 'umbrella' : c}/bin/${c}.js`;
    const commands = ['opensnoop', 'syscount', 'killsnoop', 'python-exec-hook', 'gethostlatency', 'sslsnoop', 'biosnoop', 'udplife', 'offcputime'];
    const theirs = ['opensnoop', 'syscount', 'killsnoop', 'gethostlatency', 'biosnoop', 'offcputime'];
    beforeAll(() => {
      sh('node', [join(repoRoot, 'scripts', 'package-deb.mjs')], { cwd: repoRoot });
      const arch = sh('dpkg', ['--print-architecture']).trim();
      deb = join(repoRoot, 'dist-packages', readdirSync(join(repoRoot, 'dist-packages')).find((f) => f.endsWith(`_${arch}.deb`))!);
      // Debian's libbpf-tools (scripts/packages.txt): commands of the same names in /usr/sbin
      if (!peerInstalled()) sh('apt-get', ['install', '-y', 'libbpf-tools']);
    }, 300000);
    afterAll(() => {
      spawnSync('apt-get', ['purge', '-y', 'bpf-recipes'], { stdio: 'ignore' });
      rmSync(list, { force: true });
      if (repo) rmSync(repo, { recursive: true, force: true });
      if (hadPeers && !peerInstalled()) spawnSync('apt-get', ['install', '-y', 'libbpf-tools'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }, 300000);

    const installedFiles = () => sh('dpkg-query', ['-L', 'bpf-recipes']).trim().split('\n').filter((f) => f && !lstatSync(f).isDirectory());

    it('installs beside libbpf-tools: both opensnoops trace, /usr/sbin names follow their owners, removal keeps theirs', async () => {
      const setup = sh('apt-get', ['install', '-y', deb]);
      expect(setup).toMatch(/bpf-recipes: \/usr\/sbin\/opensnoop belongs to libbpf-tools; ours runs as: bpf-recipes opensnoop/);
      expect(peerInstalled()).toBe(true);
      const files = installedFiles();
      for (const c of [...commands, 'bpf-recipes']) expect(realpathSync(`/usr/lib/bpf-recipes/bin/${c}`)).toBe(ours(c));
      expect(realpathSync('/usr/sbin/bpf-recipes')).toBe(ours('bpf-recipes'));
      // names libbpf-tools owns stay its files; the free ones are our alternatives
      for (const c of commands) {
        if (theirs.includes(c)) expect(isTheirs(c), c).toBe(true);
        else {
          expect(readlinkSync(`/usr/sbin/${c}`), c).toBe(`/etc/alternatives/${c}`);
          expect(realpathSync(`/usr/sbin/${c}`), c).toBe(ours(c));
        }
      }
      expect(sh('man', ['-w', 'opensnoop']).trim()).toBe('/usr/share/man/man8/opensnoop.8.gz');
      expect(sh('man', ['-P', 'cat', 'opensnoop'])).toMatch(/--flag-filter/);
      // the exporter's unit: installed, valid as installed (its command, its man page), not enabled
      const unit = '/usr/lib/systemd/system/bpf-recipes-exporter.service';
      expect(files).toContain(unit);
      const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      expect(verify.stdout + verify.stderr).toBe('');
      expect(existsSync('/etc/systemd/system/multi-user.target.wants/bpf-recipes-exporter.service')).toBe(false);
      // the exporter as installed (prom-client from the bundle's node_modules), on Node 18
      const port = 19000 + (process.pid % 1000);
      const exp = await startTracer('/usr/sbin/bpf-recipes', ['exporter', '--tools', 'syscount', '--listen', `127.0.0.1:${port}`], /^Tracing for metrics: syscount/m, node18Env);
      try {
        expect(exp.exe).toBe(join(node18, 'node'));
        expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^bpf_recipes_build_info\{tool="syscount",version="[\d.]+"\} 1$/m);
      } finally {
        await exp.stop();
      }

      // ours, on Node 18: from /usr/lib/bpf-recipes/bin and through the umbrella
      for (const [cmd, pre] of [['/usr/lib/bpf-recipes/bin/opensnoop', []], ['/usr/sbin/bpf-recipes', ['opensnoop']]] as const) {
        const { events, pid, exe } = await traceWith(cmd, [...pre]);
        expect(exe, cmd).toBe(join(node18, 'node'));
        expect(events, cmd).toHaveLength(5);
        expect(events.every((e) => e.pid === pid)).toBe(true);
      }
      expect(sh('/usr/sbin/sslsnoop', ['--help'], { env: node18Env })).toMatch(/^sslsnoop \[options\]/);
      // theirs, unchanged
      const peer = await traceWithPeer('/usr/sbin/opensnoop');
      expect(peer.lines).toHaveLength(4);
      expect(peer.lines.every((l) => l.trim().startsWith(`${peer.pid} `))).toBe(true);

      // libbpf-tools removed: the names are free, and ours take them; installed again: theirs again
      sh('apt-get', ['remove', '-y', 'libbpf-tools']);
      for (const c of commands) expect(realpathSync(`/usr/sbin/${c}`), c).toBe(ours(c));
      expect(sh('/usr/sbin/opensnoop', ['--help'], { env: node18Env })).toMatch(/^opensnoop \[options\]/);
      sh('apt-get', ['install', '-y', 'libbpf-tools']);
      for (const c of theirs) {
        expect(isTheirs(c), c).toBe(true);
        expect(registered(c), c).toBe(false); // the trigger dropped our alternative
      }

      // bash completion where bash-completion loads it by command name, answered by /usr/sbin/bpf-recipes
      expect(files).toContain('/usr/share/bash-completion/completions/bpf-recipes');
      expect(files).toContain('/usr/share/bash-completion/completions/sslsnoop');
      const complete = (words: string[]) => sh('bash', ['-c', `PATH=/usr/sbin:$PATH; source /usr/share/bash-completion/completions/${words[0]}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _bpf-recipes_yargs_completions; printf "%s\\n" "\${COMPREPLY[@]}"`], { env: node18Env }).trim().split('\n');
      expect(complete(['bpf-recipes', 'opensnoop', '--tim'])).toEqual(['--timestamp']);
      expect(complete(['sslsnoop', '--hex'])).toEqual(['--hexdump']);

      sh('apt-get', ['remove', '-y', 'bpf-recipes']);
      expect(files.filter(exists)).toEqual([]);
      expect(existsSync('/usr/lib/bpf-recipes')).toBe(false);
      for (const c of commands) {
        expect(exists(`/etc/alternatives/${c}`), c).toBe(false);
        expect(exists(`/var/lib/dpkg/alternatives/${c}`), c).toBe(false);
        expect(theirs.includes(c) ? isTheirs(c) : !exists(`/usr/sbin/${c}`), c).toBe(true);
      }
      expect(sh('dpkg', ['--verify', 'libbpf-tools'])).toBe('');
      const after = await traceWithPeer('/usr/sbin/opensnoop');
      expect(after.lines).toHaveLength(4);
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
      const { events } = await traceWith('/usr/sbin/bpf-recipes', ['opensnoop']);
      expect(events).toHaveLength(5);
      const files = installedFiles();
      sh('apt-get', ['purge', '-y', 'bpf-recipes']);
      expect(files.filter(exists)).toEqual([]);
      expect(spawnSync('dpkg-query', ['-W', 'bpf-recipes'], { encoding: 'utf8' }).stdout.trim()).toBe('');
      expect(exists('/etc/alternatives/sslsnoop')).toBe(false);
    }, 300000);
  });
});

// Privileged: `opensnoop -- COMMAND` traces a command from its execve to the exit of the last
// process it started: the dynamic loader's open of libc, a child and a daemonizing grandchild that
// outlives its parent, never an unrelated process opening at the same time; the command's exit
// status (0, 7, a signal, 127, 126); a forwarded SIGINT leaves no process behind; --no-follow;
// inside a PID namespace; the typed API with a command.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trace, type OpensnoopRecord } from '@bpf-recipes/opensnoop';
import { inNamespaces, jsonLines, run, settle, skipPrivileged, toolBin, uniquePath } from '@bpf-recipes/testing';

interface Open { pid: number; comm: string; path: string; fd: number; err: number }

/** opensnoop --json ARGS -- COMMAND, to its end */
const opensnoop = async (args: string[], command: string[]) => {
  const r = await run(toolBin('opensnoop'), ['--json', ...args, '--', ...command]);
  const opens = r.stdout.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as Open);
  return { ...r, opens };
};

/** a file to open, made for one test */
const file = (tag: string) => {
  const f = uniquePath(tag);
  writeFileSync(f, `${tag}\n`);
  return f;
};

describe.skipIf(skipPrivileged())('opensnoop -- COMMAND', () => {
  it("sees the command from its execve: the loader's opens of ld.so.cache and libc first, then the file; exit 0", async () => {
    const f = file('cmd-cat');
    const r = await opensnoop([], ['cat', f]);
    expect(r.code, r.stderr).toBe(0);
    // the command's output is the command's: it passes through untouched, after the tool's own
    expect(r.stdout).toContain('cmd-cat\n');
    const pids = new Set(r.opens.map((o) => o.pid));
    expect(pids.size, JSON.stringify(r.opens)).toBe(1);
    expect(r.opens[0]).toMatchObject({ comm: 'cat', path: '/etc/ld.so.cache', err: 0 });
    expect(r.opens[1].path).toMatch(/\/libc\.so\.6$/);
    expect(r.opens.at(-1)).toMatchObject({ comm: 'cat', path: f, err: 0 });
    // nothing of the shell that held it before its exec
    expect(r.opens.filter((o) => o.comm !== 'cat')).toEqual([]);
  });

  it('follows a child and a daemonizing grandchild that outlives its parent and the command; never an unrelated process', async () => {
    const [child, grand, mine, other] = ['cmd-child', 'cmd-grand', 'cmd-own', 'cmd-other'].map(file);
    // an unrelated process opening its own file all along
    const busy = spawn('sh', ['-c', `while :; do cat ${other} >/dev/null; done`], { stdio: 'ignore' });
    try {
      await settle(100);
      // the command's child starts a grandchild in a session of its own and exits at once; the
      // grandchild opens its file 0.8 s later, after both its parent and the command have gone
      const script = `sh -c 'setsid sh -c "sleep 0.8; cat ${grand} >/dev/null" </dev/null & cat ${child} >/dev/null'; cat ${mine} >/dev/null`;
      const t0 = Date.now();
      const r = await opensnoop([], ['sh', '-c', script]);
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - t0).toBeGreaterThan(800);
      const paths = r.opens.map((o) => o.path);
      for (const f of [child, grand, mine]) expect(paths, f).toContain(f);
      expect(paths).not.toContain(other);
      // the grandchild's open is its own process's, not the command's
      const cmdPid = r.opens.find((o) => o.path === mine)!.pid;
      const grandPid = r.opens.find((o) => o.path === grand)!.pid;
      const childPid = r.opens.find((o) => o.path === child)!.pid;
      expect(new Set([cmdPid, grandPid, childPid]).size).toBe(3);
    } finally {
      busy.kill('SIGKILL');
    }
  });

  it("exits with the command's status: 0, 7, 128+N for a signal; 127 and 126 with one line when it cannot run", async () => {
    expect((await opensnoop([], ['true'])).code).toBe(0);
    expect((await opensnoop([], ['sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await opensnoop([], ['sh', '-c', 'kill -USR1 $$'])).code).toBe(128 + 10);
    const missing = await opensnoop([], ['no-such-command-here']);
    expect([missing.code, missing.stderr, missing.opens]).toEqual([127, "opensnoop: cannot run 'no-such-command-here': No such file or directory\n", []]);
    const f = file('cmd-noexec');
    chmodSync(f, 0o644);
    const denied = await opensnoop([], [f]);
    expect([denied.code, denied.stderr]).toEqual([126, `opensnoop: cannot run '${f}': Permission denied\n`]);
    // usage errors stay usage errors, with nothing run
    const marker = uniquePath('cmd-never');
    const usage = await run(toolBin('opensnoop'), ['--bogus', '--', 'touch', marker]);
    expect(usage.code).toBe(2);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('forwards SIGINT to every process of the command: none is left, the status is 130', async () => {
    const tag = `${process.pid}${Date.now() % 100000}`;
    // a pipeline: the shell waits for two sleeps, neither ignores SIGINT
    const tool = spawn(toolBin('opensnoop'), ['--json', '--', 'sh', '-c', `sleep 71.${tag} | sleep 72.${tag}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    tool.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => tool.on('close', (c) => r(c)));
    const alive = () => {
      const p = run('pgrep', ['-f', `^sleep 7[12]\\.${tag}`]);
      return p.then((x) => x.stdout.split('\n').filter(Boolean).length);
    };
    for (let i = 0; i < 100 && (await alive()) < 2; i++) await settle(50);
    expect(await alive(), err).toBe(2);
    tool.kill('SIGINT');
    expect(await exited, err).toBe(130);
    expect(await alive()).toBe(0);
  });

  it('--no-follow: the command\'s own process only (its exec of another program too), not the processes it starts', async () => {
    const [forked, execd] = ['cmd-forked', 'cmd-execd'].map(file);
    const r = await opensnoop(['--no-follow'], ['sh', '-c', `cat ${forked} >/dev/null; exec cat ${execd}`]);
    expect(r.code, r.stderr).toBe(0);
    const paths = r.opens.map((o) => o.path);
    expect(paths).toContain(execd);
    expect(paths).not.toContain(forked);
    expect(new Set(r.opens.map((o) => o.pid)).size).toBe(1);
    // without it, both
    const all = await opensnoop([], ['sh', '-c', `cat ${forked} >/dev/null; exec cat ${execd}`]);
    expect(all.opens.map((o) => o.path)).toEqual(expect.arrayContaining([forked, execd]));
  });

  it('-o FILE keeps its output apart from the command\'s', async () => {
    const f = file('cmd-out');
    const out = uniquePath('cmd-o');
    const r = await run(toolBin('opensnoop'), ['--json', '-o', out, '--', 'cat', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('cmd-out\n');
    expect(jsonLines(readFileSync(out, 'utf8')).map((o) => o.path)).toContain(f);
  });

  it('inside a PID namespace: the command\'s opens with its PID as the namespace numbers it', async () => {
    const f = file('cmd-ns');
    const ns = await inNamespaces('opensnoop', `
"$TOOL" --json -- sh -c 'echo $$ >"$D/cmdpid"; exec cat ${f}' >"$D/out" 2>"$D/err"
echo $? >"$D/code"
cat "$D/cmdpid"
`);
    try {
      expect(ns.code, ns.err).toBe(0);
      const pid = Number(ns.script.trim());
      expect(pid).toBeLessThan(20);
      const opens = jsonLines(ns.out);
      expect(opens.map((o) => o.path)).toEqual(expect.arrayContaining(['/etc/ld.so.cache', f]));
      expect(new Set(opens.map((o) => o.pid))).toEqual(new Set([pid]));
    } finally {
      ns.cleanup();
    }
  });

  it('the typed API: trace({ command }) ends by itself when the command has exited, with its status', async () => {
    const f = file('cmd-api');
    const t = trace({ command: ['sh', '-c', `cat ${f} >/dev/null; exit 3`] });
    const seen: OpensnoopRecord[] = [];
    for await (const e of t) seen.push(e);
    const exit = await t.command!.exited;
    expect(exit).toEqual({ code: 3, signal: null, status: 3 });
    expect(seen.map((e) => e.path)).toContain(f);
    expect(seen.find((e) => e.path === f)!.comm).toBe('cat');
    expect(seen.every((e) => e.comm === 'sh' || e.comm === 'cat')).toBe(true);
  });
  it("--user NAME: the command runs with that user's uid, gid and groups; its opens carry that uid; the tool stays privileged", async () => {
    const f = file('cmd-user');
    chmodSync(f, 0o644);
    const r = await opensnoop(['--user', 'nobody'], ['sh', '-c', `id -u; id -g; id -G; cat ${f} >/dev/null`]);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.split('\n').filter((l) => /^\d[\d ]*$/.test(l));
    expect(ids).toEqual(['65534', '65534', '65534']);
    const own = r.opens.filter((o) => o.path === f);
    expect(own).toHaveLength(1);
    expect((own[0] as Open & { uid: number }).uid).toBe(65534);
    // a user that does not exist: one line, exit 2, nothing run
    const bad = await opensnoop(['--user', 'no-such-user-x'], ['sh', '-c', `cat ${f}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.opens).toEqual([]);
  });
});

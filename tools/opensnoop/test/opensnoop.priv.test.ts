// Privileged: the real opensnoop against the real kernel, with workloads this test controls.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, fixture, heldPrograms, programsStillLoaded, run, skipPrivileged, startTool, uniquePath } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('opensnoop on the real kernel', () => {
  let workload: string;
  const made: string[] = [];
  beforeAll(() => {
    workload = fixture('workload');
  });
  afterAll(() => {
    for (const p of made) rmSync(p, { force: true });
  });
  const file = (tag: string) => {
    const p = uniquePath(tag);
    writeFileSync(p, 'x');
    made.push(p);
    return p;
  };

  it('a path opened exactly N times gives exactly N events with the right pid, comm and fd', async () => {
    const path = file('n-opens');
    const tool = await startTool('opensnoop', ['--json']);
    const w = await run(workload, ['open', path, '7']);
    expect(w.code).toBe(0);
    await tool.waitForLine(new RegExp(path.replace(/[/.]/g, '\\$&')));
    const { code } = await tool.stop('SIGINT');
    expect(code).toBe(0);
    const events = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.path === path);
    expect(events).toHaveLength(7);
    for (const e of events) {
      expect(e.pid).toBe(w.pid);
      expect(e.tid).toBe(w.pid);
      expect(e.comm).toBe('workload');
      expect(e.fd).toBeGreaterThanOrEqual(3);
      expect(e.err).toBe(0);
      expect(e.call).toBe('openat');
      expect(e.flags_str).toBe('O_RDONLY');
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(60000);
    }
  });

  it('table mode: header, then PID COMM FD ERR PATH rows; -T -U -e add TIME, UID, MODE and FLAGS', async () => {
    const path = uniquePath('table');
    made.push(path);
    const tool = await startTool('opensnoop', ['-T', '-U', '-e']);
    const w = await run(workload, ['open', path, '2', 'wronly-creat']);
    await tool.waitForLine(new RegExp(path));
    await tool.stop('SIGTERM');
    const [header, ...rows] = tool.lines();
    expect(header.split(/\s+/)).toEqual(['TIME', 'UID', 'PID', 'COMM', 'FD', 'ERR', 'MODE', 'FLAGS', 'PATH']);
    const mine = rows.filter((r) => r.endsWith(path)).map((r) => r.trim().split(/\s+/));
    expect(mine).toHaveLength(2);
    for (const r of mine) {
      expect(r[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
      expect(r.slice(1, 4)).toEqual(['0', String(w.pid), 'workload']);
      expect(Number(r[4])).toBeGreaterThanOrEqual(3);
      expect(r[5]).toBe('0');
      expect(r[6]).toBe('0640');
      expect(r[7]).toBe('O_WRONLY|O_CREAT');
    }
  });

  it('-e stays aligned for the flag sets libc uses every day (opendir, fopen "w")', async () => {
    const dir = uniquePath('aligned-dir');
    const created = uniquePath('aligned-file');
    mkdirSync(dir);
    made.push(created);
    const tool = await startTool('opensnoop', ['-e']);
    const py = await run('python3', ['-c', [
      'import os, sys',
      'os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK | os.O_DIRECTORY | os.O_CLOEXEC))',
      'os.close(os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640))',
    ].join('\n'), dir, created]);
    expect(py.code, py.stderr).toBe(0);
    await tool.waitForLine(new RegExp(created));
    await tool.stop();
    rmdirSync(dir);
    const [header, ...rows] = tool.lines();
    const mine = rows.filter((r) => r.endsWith(dir) || r.endsWith(created));
    expect(mine).toHaveLength(2);
    for (const r of mine) expect(r.length - (r.endsWith(dir) ? dir : created).length, r).toBe(header.indexOf('PATH'));
    const [opendir, creat] = mine.map((r) => r.trim().split(/\s+/));
    expect(opendir.slice(4)).toEqual(['-', 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC', dir]);
    expect(creat.slice(4)).toEqual(['0640', 'O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC', created]);
  });

  it('a failing open shows ERR 2 (ENOENT), and --failed shows only failures', async () => {
    const ok = file('ok');
    const missing = uniquePath('missing');
    const tool = await startTool('opensnoop', ['--failed', '--json']);
    const w1 = await run(workload, ['open', ok, '3']);
    const w2 = await run(workload, ['open', missing, '2']);
    await tool.waitForLine(new RegExp(missing));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.filter((e) => e.path === ok)).toHaveLength(0);
    const fails = events.filter((e) => e.path === missing);
    expect(fails).toHaveLength(2);
    for (const e of fails) {
      expect(e).toMatchObject({ pid: w2.pid, fd: -1, err: 2, errno: 'ENOENT' });
    }
    expect(events.every((e) => e.err > 0)).toBe(true);
    expect(w1.pid).not.toBe(w2.pid);
  });

  it('--pid keeps only that process (filtered in the kernel)', async () => {
    const path = file('pid');
    const target = spawn(workload, ['open', path, '4'], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
    const tool = await startTool('opensnoop', ['--json', '-p', String(target.pid)]);
    const other = await run(workload, ['open', path, '5']);
    target.stdin!.end('go\n');
    await new Promise((r) => target.on('close', r));
    await tool.waitForLine(new RegExp(path));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.every((e) => e.pid === target.pid)).toBe(true);
    expect(events.filter((e) => e.path === path)).toHaveLength(4);
    expect(events.some((e) => e.pid === other.pid)).toBe(false);
  });

  it('--uid keeps only that user (filtered in the kernel)', async () => {
    const path = file('uid');
    chmodSync(path, 0o644);
    const tool = await startTool('opensnoop', ['--json', '-u', '65534', '-n', 'workload']);
    const asRoot = await run(workload, ['open', path, '2']);
    const asNobody = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', workload, 'open', path, '3']);
    expect(asNobody.code).toBe(0);
    await tool.waitForLine(new RegExp(path));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.filter((e) => e.path === path)).toHaveLength(3);
    expect(events.every((e) => e.uid === 65534)).toBe(true);
    expect(events.some((e) => e.pid === asRoot.pid)).toBe(false);
  });

  it('-t/--tid keeps only that thread (-t as in libbpf-tools)', async () => {
    const path = file('tid');
    const target = spawn(workload, ['open', path, '2'], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
    const tool = await startTool('opensnoop', ['--json', '-t', String(target.pid)]);
    await run(workload, ['open', path, '3']);
    target.stdin!.end('go\n');
    await new Promise((r) => target.on('close', r));
    await tool.waitForLine(new RegExp(path));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.filter((e) => e.path === path)).toHaveLength(2);
    expect(events.every((e) => e.tid === target.pid)).toBe(true);
  });

  it('--cgroup keeps only tasks in that cgroup v2 (and its children)', async () => {
    const mount = cgroup2Mount();
    expect(mount, 'a cgroup v2 hierarchy is needed').toBeTruthy();
    const cg = `${mount}/bpf-recipes-test-${process.pid}`;
    mkdirSync(`${cg}/child`, { recursive: true });
    try {
      const path = file('cgroup');
      const inside = spawn(workload, ['open', path, '4'], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
      writeFileSync(`${cg}/child/cgroup.procs`, String(inside.pid));
      const tool = await startTool('opensnoop', ['--json', '--cgroup', cg]);
      const outside = await run(workload, ['open', path, '5']);
      inside.stdin!.end('go\n');
      await new Promise((r) => inside.on('close', r));
      await tool.waitForLine(new RegExp(path));
      await tool.stop();
      const events = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.path === path);
      expect(events).toHaveLength(4);
      expect(events.every((e) => e.pid === inside.pid)).toBe(true);
      expect(outside.code).toBe(0);
    } finally {
      rmdirSync(`${cg}/child`);
      rmdirSync(cg);
    }
  });

  it('traces openat2(2) too', async () => {
    const path = file('openat2');
    const tool = await startTool('opensnoop', ['--json', '--name', 'workload']);
    const w = await run(workload, ['openat2', path, '3']);
    await tool.waitForLine(new RegExp(path));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.path === path);
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.call === 'openat2' && e.pid === w.pid)).toBe(true);
  });

  it('--flag-filter O_CREAT keeps only opens with O_CREAT', async () => {
    const ro = file('ff-ro');
    const cr = uniquePath('ff-creat');
    made.push(cr);
    const tool = await startTool('opensnoop', ['--json', '--flag-filter', 'O_CREAT', '-n', 'workload']);
    await run(workload, ['open', ro, '3']);
    await run(workload, ['open', cr, '2', 'wronly-creat']);
    await tool.waitForLine(new RegExp(cr));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.filter((e) => e.path === ro)).toHaveLength(0);
    expect(events.filter((e) => e.path === cr)).toHaveLength(2);
    expect(events.every((e) => (e.flags & 0o100) !== 0)).toBe(true);
  });

  it('shows paths whole, far beyond 255 bytes', async () => {
    const long = uniquePath('long') + '/' + 'd'.repeat(200) + '/' + 'f'.repeat(200);
    const tool = await startTool('opensnoop', ['--json', '-n', 'workload']);
    await run(workload, ['open', long, '1']);
    await tool.waitForLine(/"err":2/);
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    expect(events.map((e) => e.path)).toContain(long);
    expect(long.length).toBeGreaterThan(400);
  });

  it('lost events are counted and reported: printed + lost = opens, exactly', async () => {
    const path = file('lost');
    const tool = await startTool('opensnoop', ['--json', '-n', 'workload', '--buffer-size', '4096']);
    tool.proc.kill('SIGSTOP'); // the reader sleeps; the 4 KiB ring overflows
    const w = await run(workload, ['open', path, '500']);
    expect(w.code).toBe(0);
    tool.proc.kill('SIGCONT');
    await tool.waitForLine(new RegExp(path));
    await new Promise((r) => setTimeout(r, 1500)); // the periodic report
    expect(tool.stderr()).toMatch(/^opensnoop: Lost \d+ events$/m);
    const { code } = await tool.stop('SIGINT');
    expect(code).toBe(0);
    const printed = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.path === path).length;
    const total = Number(/Lost (\d+) events in total/.exec(tool.stderr())?.[1]);
    expect(printed).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(0);
    expect(printed + total).toBe(500);
  });

  it('--duration stops by itself with exit 0', async () => {
    const tool = await startTool('opensnoop', ['-d', '0.5']);
    const ids = heldPrograms(tool.pid);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    const { code } = await tool.exited;
    expect(code).toBe(0);
    expect(await programsStillLoaded(ids)).toEqual([]);
  });

  cliConformance({
    tool: 'opensnoop',
    programs: 6,
    drive: () => run(workload, ['open', '/etc/hostname', '1']),
    badInput: [['--pid', 'abc'], ['--bogus'], ['--flag-filter', 'O_NOPE'], ['-d', '-1'], ['--buffer-size', '1000']],
  });
});

// Privileged: profile -e EVENT -c N and --by comm|pid on the real kernel. A program touches N fresh
// pages in one function (fixtures/pagetouch.c): -e page-faults -c 1 puts its faults on that
// function's stack, exactly N of them, and --by comm counts what bpftrace's one-liner
// `software:faults:1 { @[comm] = count(); }` counts on the same run. Hardware events where the
// machine has no counters for them: one line, exit 1, nothing loaded.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PERF_EVENTS, PerfType, perfEventProblem } from '@bpf-recipes/core';
import { interrupt, runToolSync, skipPrivileged, startTool, toolBin, uniquelyNamed, watch } from '@bpf-recipes/testing';

const here = dirname(fileURLToPath(import.meta.url));
const PAGES = 20000;

describe.skipIf(skipPrivileged())('profile -e EVENT on the real kernel', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'profile-events-'));
    const built = join(dir, 'pagetouch');
    execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-fno-inline', '-o', built, join(here, 'fixtures', 'pagetouch.c')]);
    // a comm no other process has: --by comm and bpftrace's @[comm] count this run's program only
    bin = uniquelyNamed(built, 'pgtouch');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (bin) rmSync(dirname(bin), { recursive: true, force: true });
  });

  it(`-e page-faults -c 1: ${PAGES} faults on touch_pages' stack (≥ 90 % of the program's); --by comm equals bpftrace's software:faults:1 @[comm] = count()`, async () => {
    const comm = bin.split('/').at(-1)!;
    // the whole life of the program is traced by --by comm and bpftrace: both attached before it starts
    const byComm = await startTool('profile', ['-e', 'page-faults', '-c', '1', '--by', 'comm', '--json']);
    const bt = watch('bpftrace', ['-e', 'BEGIN { printf("attached\\n"); } software:faults:1 { @[comm] = count(); }']);
    onTestFinished(() => void (bt.proc.exitCode === null && bt.proc.kill('SIGKILL'))); // a failed assertion leaves nothing running
    await bt.waitFor(/^attached$/m);
    const w = watch(bin, [String(PAGES)], { stdin: 'pipe' });
    onTestFinished(() => void (w.proc.exitCode === null && w.proc.kill('SIGKILL')));
    await w.waitFor(/^ready$/m);
    const pprof = join(dir, 'faults.pb.gz');
    const stacks = await startTool('profile', ['-e', 'page-faults', '-c', '1', '-p', String(w.proc.pid), '--format', 'pprof', '-o', pprof]);
    expect(stacks.stderr()).toMatch(/^Tracing kernel and user stacks: sampling page-faults on \d+ CPUs? every 1 page-faults event\.\.\./m);
    w.proc.stdin!.write('go\n');
    await w.waitFor(/^done$/m);
    await stacks.stop('SIGINT'); // while the program lives: its stacks are named
    w.proc.stdin!.end();
    await w.exited;
    await byComm.stop('SIGINT');
    await interrupt(bt);

    // the stacks: the program's faults since attach, touch_pages' all of its N, under fault_in and main
    const p = Profile.decode(gunzipSync(readFileSync(pprof)));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => [str(t.type), str(t.unit)])).toEqual([['page-faults', 'count']]);
    expect(p.comment.map(str)).toEqual(['profile -e page-faults -c 1']);
    const fn = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
    const loc = new Map(p.location.map((l) => [Number(l.id), fn.get(Number(l.line[0].functionId))]));
    const samples = p.sample.map((s) => ({ names: s.locationId.map((id) => loc.get(Number(id))!), count: Number(s.value[0]) }));
    const total = samples.reduce((n, s) => n + s.count, 0);
    const touch = samples.filter((s) => s.names[0] === 'touch_pages');
    const onTouch = touch.reduce((n, s) => n + s.count, 0);
    const shown = samples.map((s) => `${s.names.join(';')} ${s.count}`).join('\n');
    expect(onTouch, shown).toBe(PAGES); // one minor fault per fresh page, each counted (period 1)
    expect(onTouch / total, shown).toBeGreaterThanOrEqual(0.9);
    for (const s of touch) expect(s.names.slice(0, 3)).toEqual(['touch_pages', 'fault_in', 'main']);
    expect(stacks.stderr()).toMatch(new RegExp(`profile: wrote \\d+ stacks? \\(${total} page-faults\\) to .*faults\\.pb\\.gz \\(pprof\\)`));

    // --by comm: the program's faults over its whole life, exactly bpftrace's count
    const line = JSON.parse(byComm.stdout().trim());
    expect(line).toMatchObject({ event: 'page-faults', period: 1, unit: 'events' });
    const ours = (line.comms as { comm: string; count: number }[]).find((c) => c.comm === comm)?.count;
    const m = new RegExp(`^@\\[${comm}\\]: (\\d+)$`, 'm').exec(bt.stdout());
    expect(m, bt.stdout() + bt.stderr()).not.toBeNull();
    expect(ours, byComm.stdout()).toBe(Number(m![1]));
    expect(ours).toBeGreaterThanOrEqual(PAGES);
  }, 180_000); // bpftrace and two profiles start one after the other: a minute on a busy machine

  it('--by pid: the program\'s faults under its PID; --format svg names the event', async () => {
    const w = watch(bin, ['3000'], { stdin: 'pipe' });
    onTestFinished(() => void (w.proc.exitCode === null && w.proc.kill('SIGKILL')));
    await w.waitFor(/^ready$/m);
    const svg = join(dir, 'faults.svg');
    const [byPid, flame] = await Promise.all([
      startTool('profile', ['-e', 'faults', '--by', 'pid', '-p', String(w.proc.pid)]),
      startTool('profile', ['-e', 'page-faults', '-U', '-p', String(w.proc.pid), '--format', 'svg', '-o', svg]),
    ]);
    w.proc.stdin!.write('go\n');
    await w.waitFor(/^done$/m);
    await byPid.stop('SIGINT');
    await flame.stop('SIGINT');
    w.proc.stdin!.end();
    await w.exited;
    const rows = byPid.stdout().trim().split('\n');
    expect(rows[0]).toMatch(/^PID\s+COMM\s+PAGE-FAULTS$/);
    expect(rows).toHaveLength(2);
    const [pid, name, count] = rows[1].trim().split(/\s+/);
    expect(Number(pid)).toBe(w.proc.pid);
    expect(name).toBe(bin.split('/').at(-1));
    expect(Number(count)).toBeGreaterThanOrEqual(3000);
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('profile -e page-faults -c 1');
    expect(text).toMatch(/touch_pages \(\d+ page-faults, [\d.]+%\)/);
  });

  const hardware = PERF_EVENTS.filter((e) => e.type === PerfType.HARDWARE);
  const noPmu = perfEventProblem(hardware[0]) !== undefined;

  it.runIf(noPmu)(`hardware events without counters here (${hardware.map((e) => e.name).join(', ')}): one line naming the cause and a software event, exit 1, no program loaded`, () => {
    for (const e of hardware) {
      const trace = join(dir, `strace-${e.name}`);
      // strace -f: which bpf(2) commands and perf_event_open(2) calls the tool made
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=bpf,perf_event_open', '-o', trace, toolBin('profile'), '-e', e.name, '-d', '1'], { encoding: 'utf8', timeout: 60000 });
      expect(r.status, `${e.name}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, e.name).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^profile: -e ${e.name}: this machine has no hardware counter for it \\(perf_event_open: E[A-Z]+; a VM without a virtual PMU has none\\): sample a software event instead: -e cpu-clock`));
      const calls = readFileSync(trace, 'utf8');
      expect(calls).toMatch(/perf_event_open\(.*= -1 E[A-Z]+/);
      expect(calls, e.name).not.toMatch(/BPF_PROG_LOAD/); // refused before anything was loaded: nothing held, nothing to detach
    }
  });

  it.runIf(!noPmu)('hardware events where the machine has counters: -e cycles samples', async () => {
    const r = runToolSync('profile', ['-e', 'cycles', '-c', '100000', '-d', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ event: 'cycles', period: 100000, unit: 'events' });
  });

  it('usage errors: exit 2, one line', () => {
    for (const [args, re] of [
      [['-e', 'nosuch'], /^profile: --event: 'nosuch' is not an event profile samples: one of cpu-clock, /],
      [['-e', 'page-faults', '-F', '99'], /^profile: -F samples the clock events/],
      [['-c', '0'], /^profile: --period: '0' is not a number of events/],
      [['-c', '10', '-F', '99'], /^profile: -c\/--period and -F\/--frequency exclude each other/],
      [['--by', 'tid'], /^profile: --by: 'tid' is not one of comm, pid/],
      [['--by', 'comm', '--format', 'folded'], /^profile: --by comm counts without stacks: drop --format/],
    ] as const) {
      const r = runToolSync('profile', [...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  });
});

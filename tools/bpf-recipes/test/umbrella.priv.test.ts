// Privileged: the umbrella command on the real kernel.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { machine } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fixture, run, runToolSync, skipPrivileged, startTool, toolBin, uniquePath } from '@bpf-recipes/testing';
import { TOOLS, toolSpec } from '../src/tools.js';

describe.skipIf(skipPrivileged())('bpf-recipes umbrella', () => {
  it('list: every tool with its one-line description', async () => {
    const r = runToolSync('bpf-recipes', ['list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(TOOLS.length);
    for (const t of TOOLS) expect(lines).toContain(`${t.padEnd(18)} ${(await toolSpec(t)).summary}`);
  });

  it('doctor tells the truth about this kernel, tried for real', () => {
    const r = runToolSync('bpf-recipes', ['doctor', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    const m = Object.fromEntries(d.machine.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
    expect(m).toMatchObject({ privileges: true, BTF: existsSync('/sys/kernel/btf/vmlinux'), libbpf: true, tracefs: true, architecture: true });
    // the CPU and the objects loaded for it: x86_64's x86 objects, aarch64's arm64 ones
    const archDetail = d.machine.find((c: { name: string }) => c.name === 'architecture').detail;
    expect(archDetail).toBe(`${machine()} (Node ${process.arch}, BPF objects ${{ x64: 'x86', arm64: 'arm64' }[process.arch]})`);
    const t = Object.fromEntries(d.programTypes.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
    expect(t).toMatchObject({ tracepoint: true, raw_tp: true, tp_btf: true, uprobe: true, perf_event: true, cgroup_sock: true, cgroup_skb: true });
    // kprobes attach exactly when the kernel has them
    const kprobes = existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');
    expect(t.kprobe).toBe(kprobes);
    // the reference kernel (DESIGN.md §3) has no kprobes and refuses fentry
    if (!kprobes) expect(t.fentry).toBe(false);
    // perf events, opened for real: every software one; the hardware ones exactly when the kernel
    // registered a CPU PMU (x86: event_source/devices/cpu; arm64: armv8_pmuv3*)
    const ev = Object.fromEntries(d.perfEvents.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
    expect(Object.keys(ev)).toEqual(['cpu-clock', 'task-clock', 'page-faults', 'major-faults', 'minor-faults', 'context-switches', 'cpu-migrations', 'alignment-faults', 'emulation-faults',
      'cycles', 'instructions', 'ref-cycles', 'cache-references', 'cache-misses', 'branch-instructions', 'branch-misses']);
    for (const e of ['cpu-clock', 'task-clock', 'page-faults', 'major-faults', 'minor-faults', 'context-switches', 'cpu-migrations']) expect(ev[e], e).toBe(true);
    const pmu = readdirSync('/sys/bus/event_source/devices').some((n) => n === 'cpu' || n === 'cpu_core' || n.startsWith('armv8_pmuv3'));
    expect(ev.cycles).toBe(pmu);
    if (!pmu) for (const e of ['cycles', 'instructions', 'cache-misses', 'branch-misses']) expect(ev[e], e).toBe(false);
    for (const tool of d.tools) expect(tool.ok, `${tool.tool} needs ${tool.needs} (missing ${tool.missing})`).toBe(true);
    expect(d.tools.map((x: { tool: string }) => x.tool).sort()).toEqual([...TOOLS].sort());
    // what the kernel lacks, per tool: the newer tracepoints, with what the tool uses instead
    const has = (cat: string, name: string) => existsSync(`/sys/kernel/tracing/events/${cat}/${name}`);
    const lacks = Object.fromEntries(d.tools.map((x: { tool: string; lacks: unknown[] }) => [x.tool, x.lacks]));
    const skb = 'bytes and peers from the cgroup skb hooks';
    expect(lacks.udplife).toEqual(has('sock', 'sock_send_length') ? [] : [
      { feature: 'sock_recv_length', instead: skb }, { feature: 'sock_send_length', instead: skb },
    ].sort((a, b) => (lacks.udplife.findIndex((l: { feature: string }) => l.feature === a.feature) - lacks.udplife.findIndex((l: { feature: string }) => l.feature === b.feature))));
    expect(lacks.biosnoop).toEqual(has('block', 'block_io_start') ? [] : [{ feature: 'block_io_start', instead: 'the submitter taken at block_rq_insert, or block_rq_issue when issued directly' }]);
    for (const tool of ['killsnoop', 'python-exec-hook', 'gethostlatency', 'sslsnoop']) expect(lacks[tool], tool).toEqual([]);
    // open(2) exists on x86_64, not on arm64 (the generic syscall table)
    const noOpen = 'nothing needed: this architecture has no open(2) (its programs open files with openat(2))';
    expect(lacks.opensnoop).toEqual(has('syscalls', 'sys_enter_open') ? [] : [{ feature: 'syscalls:sys_enter_open', instead: noOpen }, { feature: 'syscalls:sys_exit_open', instead: noOpen }]);
    expect(has('syscalls', 'sys_enter_open')).toBe(process.arch === 'x64');
    const text = runToolSync('bpf-recipes', ['doctor']).stdout;
    expect(text).toMatch(/^What this kernel lacks, per tool$/m);
    if (!has('sock', 'sock_send_length')) expect(text).toMatch(/^udplife\s+sock_send_length\s+bytes and peers from the cgroup skb hooks$/m);
    expect(text).toMatch(/^kprobe\s+(yes|NO)\s/m);
    expect(text).toMatch(/^Perf events \(opened for real; profile -e EVENT\)$/m);
    expect(text).toMatch(/^page-faults\s+yes\s+software: opens$/m);
    if (!pmu) expect(text).toMatch(/^cycles\s+NO\s+hardware: perf_event_open failed: E[A-Z]+: no hardware counter for it/m);
    expect(text).toMatch(/^opensnoop\s+yes\s+tracepoint\s+-$/m);
  });

  it('bpf-recipes TOOL ARGS runs the tool, passes its output and signals through', async () => {
    const workload = fixture('workload');
    const path = uniquePath('umbrella');
    writeFileSync(path, 'x');
    const tool = await startTool('bpf-recipes', ['opensnoop', '--json', '-n', 'workload']);
    const w = await run(workload, ['open', path, '3']);
    await tool.waitForLine(new RegExp(path));
    const { code } = await tool.stop('SIGTERM');
    expect(code).toBe(0);
    const ev = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.path === path);
    expect(ev).toHaveLength(3);
    expect(ev.every((e) => e.pid === w.pid)).toBe(true);
  });

  it('bpf-recipes TOOL ARGS -- COMMAND: the tool runs the command, sees its opens, and exits with its status', async () => {
    const path = uniquePath('umbrella-cmd');
    writeFileSync(path, 'x');
    const r = await run(toolBin('bpf-recipes'), ['opensnoop', '--json', '--', 'sh', '-c', `cat ${path} >/dev/null; exit 7`]);
    expect(r.code, r.stderr).toBe(7);
    const ev = r.stdout.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as { comm: string; path: string });
    expect(ev.filter((e) => e.path === path).map((e) => e.comm)).toEqual(['cat']);
    // from the command's execve: the loader's first open is the shell's
    expect(ev[0]).toMatchObject({ comm: 'sh', path: '/etc/ld.so.cache' });
  });

  it('bad input: one line, exit 2; --version', () => {
    for (const args of [['nosuchtool'], ['list', 'x'], ['doctor', '--bogus']]) {
      const r = runToolSync('bpf-recipes', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^bpf-recipes: /);
    }
    expect(runToolSync('bpf-recipes', ['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(runToolSync('bpf-recipes', ['opensnoop', '--pid', 'x']).code).toBe(2);
  });
});

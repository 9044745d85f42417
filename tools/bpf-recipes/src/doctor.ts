/**
 * What this machine supports, tried for real: each program type is loaded and attached on its
 * own, then each tool's needs (the program types in its object) are matched against the results.
 */
import { existsSync, readFileSync } from 'node:fs';
import { machine as machineName, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cgroup2Mount } from '@bpf-recipes/cli';
import {
  ARCHES, BpfError, BpfObject, PERF_EVENTS, PerfSwConfig, PerfType, archInfo, ensureTracefs, findSystemLibrary, hasBpfPrivileges, libbpf, openPerfEvent,
  perfEventProblem, rawTracepointExists, takeLibbpfWarnings, tracepointExists,
} from '@bpf-recipes/core';
import { TOOLS, toolObject } from './tools.js';

export interface Check { name: string; ok: boolean; detail: string }

const PROGRAMS: [string, string][] = [
  ['tracepoint', 'doctor_tracepoint'], ['raw_tp', 'doctor_raw_tp'], ['tp_btf', 'doctor_tp_btf'], ['uprobe', 'doctor_uprobe'],
  ['kprobe', 'doctor_kprobe'], ['fentry', 'doctor_fentry'], ['perf_event', 'doctor_perf_event'], ['cgroup_sock', 'doctor_cgroup_sock'],
  ['cgroup_skb', 'doctor_cgroup_skb'],
];

/** What a tool does where this kernel lacks a tracepoint it prefers (see each tool's README). */
const INSTEAD: Record<string, string> = {
  'udplife:sock_send_length': 'bytes and peers from the cgroup skb hooks',
  'udplife:sock_recv_length': 'bytes and peers from the cgroup skb hooks',
  'biosnoop:block_io_start': 'the submitter taken at block_rq_insert, or block_rq_issue when issued directly',
  'syscount:sys_enter': 'the raw_syscalls tracepoints',
  'syscount:sys_exit': 'the raw_syscalls tracepoints',
  'syslatency:sys_enter': 'the raw_syscalls tracepoints',
  'syslatency:sys_exit': 'the raw_syscalls tracepoints',
  'opensnoop:sys_enter_open': 'nothing needed: this architecture has no open(2) (its programs open files with openat(2))',
  'opensnoop:sys_exit_open': 'nothing needed: this architecture has no open(2) (its programs open files with openat(2))',
};

/** The tracepoint a program's section names, and whether this kernel has it (other sections: undefined). */
function sectionTracepoint(section: string): { name: string; exists: boolean } | undefined {
  let m = /^(?:tracepoint|tp)\/([^/]+)\/(.+)$/.exec(section);
  if (m) return { name: `${m[1]}:${m[2]}`, exists: tracepointExists(m[1], m[2]) };
  m = /^(?:raw_tracepoint|raw_tp|tp_btf)(?:\.w)?\/(.+)$/.exec(section);
  if (m) return { name: m[1], exists: rawTracepointExists(m[1]) };
  return undefined;
}

export function sectionType(section: string): string {
  if (/^(tracepoint|tp)\//.test(section)) return 'tracepoint';
  if (/^(raw_tp|raw_tracepoint)(\.w)?\//.test(section)) return 'raw_tp';
  if (/^tp_btf\//.test(section)) return 'tp_btf';
  if (/^u(ret)?probe/.test(section)) return 'uprobe';
  if (/^k(ret)?probe/.test(section)) return 'kprobe';
  if (/^f(entry|exit)/.test(section)) return 'fentry';
  if (/^perf_event/.test(section)) return 'perf_event';
  if (/^cgroup\/sock/.test(section)) return 'cgroup_sock';
  if (/^cgroup_skb\//.test(section)) return 'cgroup_skb';
  return section.split('/')[0];
}

function tryType(obj: string, type: string, prog: string): Check {
  let o: BpfObject | undefined;
  try {
    o = BpfObject.open(obj);
    for (const p of o.programs) o.setAutoload(p.name, p.name === prog);
    o.load();
    switch (type) {
      case 'uprobe': {
        const libc = findSystemLibrary('libc.so.6');
        if (!libc) return { name: type, ok: false, detail: 'no libc.so.6 to probe' };
        o.attachUprobe(prog, { binary: libc, func: 'getppid', pid: process.pid });
        break;
      }
      case 'perf_event':
        o.attachPerfEvent(prog, openPerfEvent({ type: PerfType.SOFTWARE, config: PerfSwConfig.TASK_CLOCK, period: 1_000_000, pid: process.pid }));
        break;
      case 'cgroup_sock':
      case 'cgroup_skb': {
        const root = cgroup2Mount();
        if (!root) return { name: type, ok: false, detail: 'no cgroup v2 hierarchy mounted' };
        o.attachCgroup(prog, root);
        break;
      }
      default:
        o.attach(prog);
    }
    return { name: type, ok: true, detail: 'loads and attaches' };
  } catch (e) {
    const msg = e instanceof BpfError ? `${e.op.split(' ')[0]} failed: ${e.code}${e.hint ? ` (${e.hint})` : ''}` : (e as Error).message;
    return { name: type, ok: false, detail: msg };
  } finally {
    o?.close();
    takeLibbpfWarnings();
  }
}

export interface DoctorReport {
  machine: Check[];
  programTypes: Check[];
  /** the perf events profile -e samples, each opened for real (for every process, on CPU 0) */
  perfEvents: Check[];
  /** needs: program types of the programs this kernel can attach; missing: those types that fail;
   *  lacks: tracepoints the tool names that this kernel does not have, each with what is used instead */
  tools: { tool: string; ok: boolean; needs: string[]; missing: string[]; lacks: { feature: string; instead: string }[] }[];
}

export function doctor(): DoctorReport {
  const machine: Check[] = [];
  machine.push({ name: 'kernel', ok: true, detail: release() });
  // the BPF objects of this CPU (each tool ships one per architecture)
  const a = archInfo();
  machine.push({
    name: 'architecture', ok: Boolean(a),
    detail: a ? `${machineName()} (Node ${process.arch}, BPF objects ${a.target})` : `${machineName()}: no BPF objects for ${process.arch} (built for ${ARCHES.map((x) => x.node).join(', ')})`,
  });
  const root = hasBpfPrivileges();
  machine.push({ name: 'privileges', ok: root, detail: root ? 'root / CAP_BPF+CAP_PERFMON' : 'not root: run as root (or with CAP_BPF and CAP_PERFMON)' });
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  machine.push({ name: 'BTF', ok: btf, detail: btf ? '/sys/kernel/btf/vmlinux' : 'missing: a kernel with CONFIG_DEBUG_INFO_BTF=y is needed' });
  let lib = false;
  try {
    const l = libbpf();
    lib = true;
    machine.push({ name: 'libbpf', ok: true, detail: `libbpf.so.1, version ${l.libbpf_major_version()}.${l.libbpf_minor_version()}` });
  } catch (e) {
    machine.push({ name: 'libbpf', ok: false, detail: (e as Error).message });
  }
  let tracefs = false;
  try {
    machine.push({ name: 'tracefs', ok: true, detail: ensureTracefs() });
    tracefs = true;
  } catch (e) {
    machine.push({ name: 'tracefs', ok: false, detail: (e as Error).message });
  }
  const cg = cgroup2Mount();
  machine.push({ name: 'cgroup v2', ok: Boolean(cg), detail: cg ?? 'not mounted' });
  const kprobes = existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');
  machine.push({ name: 'kprobe_events', ok: kprobes, detail: kprobes ? 'present' : 'absent (CONFIG_KPROBES off?)' });
  try {
    const lsm = readFileSync('/sys/kernel/security/lockdown', 'utf8').match(/\[(\w+)\]/)?.[1] ?? 'none';
    machine.push({ name: 'lockdown', ok: lsm === 'none', detail: lsm });
  } catch { /* no securityfs */ }

  const programTypes: Check[] = [];
  if (root && btf && lib && tracefs) {
    const obj = fileURLToPath(new URL('../bpf/doctor.bpf.o', import.meta.url));
    for (const [type, prog] of PROGRAMS) programTypes.push(tryType(obj, type, prog));
  } else {
    for (const [type] of PROGRAMS) programTypes.push({ name: type, ok: false, detail: 'not tried: fix the machine checks first' });
  }
  const perfEvents: Check[] = PERF_EVENTS.map((e) => {
    const kind = e.type === PerfType.HARDWARE ? 'hardware' : 'software';
    if (!root) return { name: e.name, ok: false, detail: `${kind}: not tried (not root)` };
    const problem = perfEventProblem(e);
    if (!problem) return { name: e.name, ok: true, detail: `${kind}: opens` };
    const why = e.type === PerfType.HARDWARE && ['ENOENT', 'EOPNOTSUPP', 'ENODEV'].includes(problem) ? ': no hardware counter for it (no PMU: a VM without a virtual one)' : '';
    return { name: e.name, ok: false, detail: `${kind}: perf_event_open failed: ${problem}${why}` };
  });
  const works = new Map(programTypes.map((c) => [c.name, c.ok]));
  const tools = TOOLS.map((tool) => {
    let needs: string[] = [];
    const lacks: { feature: string; instead: string }[] = [];
    try {
      const o = BpfObject.open(toolObject(tool));
      const types = new Set<string>();
      for (const p of o.programs) {
        const tp = tracefs ? sectionTracepoint(p.section) : undefined;
        if (tp && !tp.exists) {
          const short = tp.name.split(':').pop()!;
          if (!lacks.some((l) => l.feature === tp.name)) lacks.push({ feature: tp.name, instead: INSTEAD[`${tool}:${short}`] ?? 'nothing: that part of the tool is off' });
        } else {
          types.add(sectionType(p.section));
        }
      }
      needs = [...types].sort();
      o.close();
    } catch (e) {
      return { tool, ok: false, needs: [], missing: [(e as Error).message], lacks };
    }
    const missing = needs.filter((n) => !works.get(n));
    return { tool, ok: missing.length === 0, needs, missing, lacks };
  });
  return { machine, programTypes, perfEvents, tools };
}

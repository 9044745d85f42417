#!/usr/bin/env node
/** gethostlatency: user space. The kernel side is bpf/gethostlatency.bpf.c (uprobes on libc). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { attachUprobeCalls, parsePids, runTool } from '@bpf-recipes/cli';
import { PreflightError, UsageError, findProcessLibrary, findSystemLibrary, type BpfObject } from '@bpf-recipes/core';
import { Columns, clockTime, isoTime, jsonFields, tableText } from '@bpf-recipes/format';
import { EVENT_OFFSETS, decodeEvent, rodata, type Event } from './generated/gethostlatency.js';
import { parseMinLatency } from '@bpf-recipes/cli';
import { addrText } from '@bpf-recipes/format';
import { FUNCS, isAddrQuery, resultName } from './names.js';
import { spec, type GhlArgs } from './spec.js';

/** entry program per function (by argument layout); the cookie tells the function apart */
const ENTRY = ['gethostlatency_name', 'gethostlatency_name', 'gethostlatency_name', 'gethostlatency_name_r', 'gethostlatency_name2_r', 'gethostlatency_addr', 'gethostlatency_addr_r'];

void runTool<GhlArgs>(spec, (ctx) => {
  const a = ctx.args;
  const minNs = a['min-latency'] === undefined ? 0 : parseMinLatency(a['min-latency']);
  if (a.libc !== undefined && !existsSync(a.libc)) throw new UsageError(`--libc: ${a.libc} does not exist`);
  const pids = a.pid === undefined ? [] : parsePids(a.pid);

  // where to attach: --libc, else each -p process's own libc (through /proc/PID/root), else the system's
  const targets: { binary: string; pid: number }[] = [];
  if (a.libc) targets.push(...(pids.length ? pids.map((pid) => ({ binary: a.libc!, pid })) : [{ binary: a.libc, pid: -1 }]));
  else if (pids.length) {
    for (const pid of pids) {
      const lib = findProcessLibrary(pid, 'libc.so.6');
      if (!lib) throw new PreflightError(`PID ${pid} has no libc.so.6 mapped (is it running, and dynamically linked?)`);
      targets.push({ binary: lib, pid });
    }
  } else {
    const lib = findSystemLibrary('libc.so.6');
    if (!lib) throw new PreflightError('no libc.so.6 found on this system: give one with --libc PATH');
    targets.push({ binary: lib, pid: -1 });
  }

  const obj: BpfObject = ctx.open(fileURLToPath(new URL('../bpf/gethostlatency.bpf.o', import.meta.url)), rodata, {
    cfg_addrs: Boolean(a.extended),
    cfg_min_lat_ns: minNs,
  });
  ctx.loadAndAttach(obj, { attach: false });
  const attached = attachUprobeCalls(obj, targets.flatMap((t) => FUNCS.map((func, cookie) => ({ ...t, func, cookie, entry: ENTRY[cookie], ret: 'gethostlatency_ret' }))), ctx.verbose);
  if (attached.length === 0) throw new PreflightError(`none of ${FUNCS.join(', ')} could be probed in ${targets.map((t) => t.binary).join(', ')} (run with -v)`);

  const cols = new Columns([
    { name: 'TIME', width: 12 },
    { name: 'PID', width: 7, align: 'right' },
    { name: 'COMM', width: 16 },
    { name: 'LATms', width: 10, align: 'right' },
    { name: 'RET', width: 14 },
    { name: 'HOST', width: a.extended ? 30 : 0 },
    ...(a.extended ? [{ name: 'ADDRS', width: 0 }] : []),
  ]);
  // gethostbyaddr(_r): HOST holds the address's bytes, zeros included (the decoded string stops at the first)
  const hostOf = (e: Event, b: Buffer, off: number) => {
    if (!isAddrQuery(e.func)) return e.host;
    const at = off + EVENT_OFFSETS.host;
    return addrText(e.qfamily, b.subarray(at, at + 16));
  };
  // getaddrinfo lists an address once per socket type: each is shown once
  const addrs = (e: Event) => [...new Set(Array.from({ length: e.naddrs }, (_, i) => addrText(e.addrs[i].family, e.addrs[i].addr)))];
  const line = (e: Event, b: Buffer, off: number): string => {
    const ms = ctx.clock.wallMs(e.ts_ns);
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ms), pid: e.pid, tid: e.tid, uid: e.uid, ...jsonFields('comm', e.comm), func: FUNCS[e.func] ?? e.func,
        latency_ms: Math.round(e.lat_ns / 1000) / 1000, ...jsonFields('host', hostOf(e, b, off)), ret: e.ret, ret_name: resultName(e.func, e.ret, e.herrno),
        ...(a.extended ? { addrs: addrs(e) } : {}),
      });
    }
    return cols.row([clockTime(ms), e.pid, tableText(e.comm), (e.lat_ns / 1e6).toFixed(3), resultName(e.func, e.ret, e.herrno), tableText(hostOf(e, b, off)), ...(a.extended ? [addrs(e).join(',')] : [])]);
  };
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(obj, 'events', (b, off) => ctx.out.line(line(decodeEvent(b, off), b, off)));
  ctx.ready('Tracing getaddrinfo/gethostbyname calls... Hit Ctrl-C to end.');
});

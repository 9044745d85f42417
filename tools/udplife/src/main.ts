#!/usr/bin/env node
/** udplife: user space. The kernel side is bpf/udplife.bpf.c (cgroup socket hooks + tracepoints, no kprobes). */
import { fileURLToPath } from 'node:url';
import { cgroup2Mount, parseIntArg, runTool } from '@bpf-recipes/cli';
import { PreflightError, UsageError } from '@bpf-recipes/core';
import { Columns, clockTime, isoTime, jsonFields, tableText } from '@bpf-recipes/format';
import { decodeEvent, rodata, type Event } from './generated/udplife.js';
import { spec, type UdplifeArgs } from './spec.js';
import { addrText } from './addr.js';

const MAX_PEERS = 8;

function ports(opt: string, v: string | undefined): number[] {
  if (v === undefined) return [];
  const list = v.split(',').map((s) => s.trim()).filter(Boolean).map((p) => parseIntArg(opt, p, 'a port (1-65535)', 1, 65535));
  if (list.length === 0 || list.length > 8) throw new UsageError(`--${opt}: give 1 to 8 ports, e.g. 53,5353`);
  return list;
}

void runTool<UdplifeArgs>(spec, (ctx) => {
  const a = ctx.args;
  if (a.ipv4 && a.ipv6) throw new UsageError('-4 and -6 exclude each other (give neither for both)');
  const lports = ports('localport', a.localport);
  const rports = ports('remoteport', a.remoteport);
  const root = cgroup2Mount();
  if (!root) throw new PreflightError('udplife needs a cgroup v2 hierarchy for its socket hooks (mount -t cgroup2 none /sys/fs/cgroup)');

  const obj = ctx.open(fileURLToPath(new URL('../bpf/udplife.bpf.o', import.meta.url)), rodata, {
    cfg_family: a.ipv4 ? 2 : a.ipv6 ? 10 : 0,
    cfg_lports: lports,
    cfg_nlports: lports.length,
    cfg_rports: rports,
    cfg_nrports: rports.length,
  });
  ctx.loadAndAttach(obj);
  obj.attachCgroup('udplife_create', root);
  obj.attachCgroup('udplife_release', root);
  ctx.verbose(`socket hooks on the cgroup v2 root ${root}`);

  const w = a.wide ? 39 : 15;
  const cols = new Columns([
    ...(a.timestamp ? [{ name: 'TIME', width: 12 }] : []),
    { name: 'PID', width: 7, align: 'right' as const },
    { name: 'COMM', width: 16 },
    { name: 'LADDR', width: w },
    { name: 'LPORT', width: 5, align: 'right' as const },
    { name: 'RADDR', width: w },
    { name: 'RPORT', width: 5, align: 'right' as const },
    { name: 'PEERS', width: 5, align: 'right' as const },
    { name: 'TX_B', width: 10, align: 'right' as const },
    { name: 'RX_B', width: 10, align: 'right' as const },
    { name: 'MS', width: 0 },
  ]);
  const peers = (e: Event) => (e.peers >= MAX_PEERS ? `${MAX_PEERS}+` : String(e.peers));
  const line = (e: Event): string => {
    const ms = (e.ts_ns - e.start_ns) / 1e6;
    const laddr = addrText(e.family, e.laddr);
    const raddr = e.rport || e.connected ? addrText(e.family, e.raddr) : '-';
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ctx.clock.wallMs(e.ts_ns)), pid: e.pid, uid: e.uid, ...jsonFields('comm', e.comm), family: e.family === 10 ? 'ipv6' : 'ipv4',
        laddr, lport: e.lport, raddr: raddr === '-' ? null : raddr, rport: e.rport || null, connected: Boolean(e.connected),
        peers: e.peers, tx_bytes: e.tx_bytes, rx_bytes: e.rx_bytes, tx_packets: e.tx_packets, rx_packets: e.rx_packets,
        duration_ms: Math.round(ms * 1000) / 1000,
      });
    }
    return cols.row([...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []), e.pid, tableText(e.comm), laddr, e.lport, raddr, e.rport || '-', peers(e), e.tx_bytes, e.rx_bytes, ms.toFixed(2)]);
  };
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(obj, 'events', (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready('Tracing UDP sockets (one line when each closes)... Hit Ctrl-C to end.');
});

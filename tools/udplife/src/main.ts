#!/usr/bin/env node
/** udplife: user space. The kernel side is bpf/udplife.bpf.c (cgroup socket hooks + tracepoints, no kprobes). */
import { runTool } from '@bpf-recipes/cli';
import { Columns, addrText, clockTime, tableText } from '@bpf-recipes/format';
import { decodeEvent, type Event } from './generated/udplife.js';
import { register } from './metrics.js';
import { spec, type UdplifeArgs } from './spec.js';
import { peersText, raddrOf, setup, toRecord } from './trace.js';

const list = (v: string | undefined) => v?.split(',');

void runTool<UdplifeArgs>(spec, (ctx) => {
  const a = ctx.args;
  const { skel, counted } = setup(ctx.session, { ipv4: a.ipv4, ipv6: a.ipv6, localport: list(a.localport), remoteport: list(a.remoteport) }, { metrics: Boolean(ctx.metrics) });
  if (ctx.metrics) register(ctx.metrics, { skel, counted });

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
  const n = (v: number) => (counted ? v : '-');
  const line = (e: Event): string => {
    if (a.json) return JSON.stringify(toRecord(e, ctx.clock, counted));
    const ms = (e.ts_ns - e.start_ns) / 1e6;
    return cols.row([
      ...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []), e.pid, tableText(e.comm), addrText(e.family, e.laddr), e.lport,
      raddrOf(e) ?? '-', e.rport || '-', peersText(e, counted), n(e.tx_bytes), n(e.rx_bytes), ms.toFixed(2),
    ]);
  };
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(skel.maps.events, (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready('Tracing UDP sockets (one line when each closes)... Hit Ctrl-C to end.');
});

#!/usr/bin/env node
/** gethostlatency: user space. The kernel side is bpf/gethostlatency.bpf.c (uprobes on libc). */
import { runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, tableText } from '@bpf-recipes/format';
import { decodeEvent, type Event } from './generated/gethostlatency.js';
import { register } from './metrics.js';
import { resultName } from './names.js';
import { spec, type GhlArgs } from './spec.js';
import { addrsOf, hostOf, setup, toRecord } from './trace.js';

void runTool<GhlArgs>(spec, (ctx) => {
  const a = ctx.args;
  const skel = setup(ctx.session, { extended: a.extended, minLatency: a['min-latency'], libc: a.libc }, { metrics: Boolean(ctx.metrics) });
  if (ctx.metrics) register(ctx.metrics, skel);

  const cols = new Columns([
    { name: 'TIME', width: 12 },
    { name: 'PID', width: 7, align: 'right' },
    { name: 'COMM', width: 16 },
    { name: 'LATms', width: 10, align: 'right' },
    { name: 'RET', width: 14 },
    { name: 'HOST', width: a.extended ? 30 : 0 },
    ...(a.extended ? [{ name: 'ADDRS', width: 0 }] : []),
  ]);
  const line = (e: Event, b: Buffer, off: number): string => {
    if (a.json) return JSON.stringify(toRecord(e, b, off, ctx.clock, Boolean(a.extended)));
    return cols.row([
      clockTime(ctx.clock.wallMs(e.ts_ns)), e.pid, tableText(e.comm), (e.lat_ns / 1e6).toFixed(3), resultName(e.func, e.ret, e.herrno),
      tableText(hostOf(e, b, off)), ...(a.extended ? [addrsOf(e).join(',')] : []),
    ]);
  };
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(skel.maps.events, (b, off) => ctx.out.line(line(decodeEvent(b, off), b, off)));
  ctx.ready('Tracing getaddrinfo/gethostbyname calls... Hit Ctrl-C to end.');
});

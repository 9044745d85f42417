#!/usr/bin/env node
/** opensnoop: user space. The kernel side is bpf/opensnoop.bpf.c; the decoder is generated from its BTF. */
import { runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, tableText } from '@bpf-recipes/format';
import { decodeEvent, type Event } from './generated/opensnoop.js';
import { flagNames, hasMode } from './flags.js';
import { spec, type OpensnoopArgs } from './spec.js';
import { register } from './metrics.js';
import { tableColumns } from './table.js';
import { RECORD, attachedCalls, callList, recordValues, setup } from './trace.js';

void runTool<OpensnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const table = new Columns(tableColumns({ timestamp: a.timestamp, printUid: a['print-uid'], extended: a['extended-fields'] }));

  const row = (e: Event): string => {
    const v: (string | number)[] = [];
    if (a.timestamp) v.push(clockTime(ctx.clock.wallMs(e.ts_ns)));
    if (a['print-uid']) v.push(e.uid);
    v.push(e.pid, tableText(e.comm), e.ret >= 0 ? e.ret : -1, e.ret >= 0 ? 0 : -e.ret);
    if (a['extended-fields']) v.push(hasMode(e.flags) ? '0' + e.mode.toString(8).padStart(3, '0') : '-', flagNames(e.flags));
    v.push(tableText(e.path));
    return table.row(v);
  };
  // the record's line, from the same fields as the typed API's toRecord()
  const json = (e: Event): string => RECORD.json(recordValues(e, ctx.clock));

  const skel = setup(ctx.session, { failed: a.failed, flagFilter: a['flag-filter'] }, { metrics: Boolean(ctx.metrics), by: ctx.metricsBy });
  if (ctx.metrics) register(ctx.metrics, { skel, by: ctx.metricsBy });
  if (!a.json) ctx.out.line(table.header());
  const format = a.json ? json : row;
  ctx.follow(skel.maps.events, (b, off) => ctx.out.line(format(decodeEvent(b, off))));
  ctx.ready(`Tracing ${callList(attachedCalls(skel))}... Hit Ctrl-C to end.`);
});

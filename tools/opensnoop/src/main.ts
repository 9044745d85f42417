#!/usr/bin/env node
/** opensnoop: user space. The kernel side is bpf/opensnoop.bpf.c; the decoder is generated from its BTF. */
import { fileURLToPath } from 'node:url';
import { runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, errnoName, isoTime, jsonText, tableText } from '@bpf-recipes/format';
import { decodeEvent, rodata, type Event } from './generated/opensnoop.js';
import { flagNames, hasMode, parseFlagFilter } from './flags.js';
import { spec, type OpensnoopArgs } from './spec.js';
import { tableColumns } from './table.js';

const CALLS = ['open', 'openat', 'openat2'];

void runTool<OpensnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const filter = parseFlagFilter(a['flag-filter']);
  const obj = ctx.open(fileURLToPath(new URL('../bpf/opensnoop.bpf.o', import.meta.url)), rodata, {
    cfg_failed: Boolean(a.failed),
    ...filter,
  });
  ctx.loadAndAttach(obj);

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
  // built by hand (numbers as they are, strings through JSON.stringify): ~3x faster than stringifying an object
  const json = (e: Event): string => {
    const ok = e.ret >= 0;
    return `{"time":"${isoTime(ctx.clock.wallMs(e.ts_ns))}","pid":${e.pid},"tid":${e.tid},"uid":${e.uid},` +
      `${jsonText('comm', e.comm)},"fd":${ok ? e.ret : -1},"err":${ok ? 0 : -e.ret},` +
      `"errno":${ok ? 'null' : `"${errnoName(-e.ret)}"`},"flags":${e.flags},"flags_str":"${flagNames(e.flags)}",` +
      `"mode":${hasMode(e.flags) ? e.mode : 'null'},"call":"${CALLS[e.call] ?? e.call}",` +
      `"dirfd":${e.call === 0 ? 'null' : e.dirfd},"latency_us":${Math.round(e.lat_ns / 10) / 100},${jsonText('path', e.path)}}`;
  };

  if (!a.json) ctx.out.line(table.header());
  const format = a.json ? json : row;
  ctx.follow(obj, 'events', (b, off) => ctx.out.line(format(decodeEvent(b, off))));
  ctx.ready('Tracing open(2), openat(2) and openat2(2)... Hit Ctrl-C to end.');
});

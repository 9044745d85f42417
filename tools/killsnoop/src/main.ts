#!/usr/bin/env node
/** killsnoop: user space. The kernel side is bpf/killsnoop.bpf.c; the decoder is generated from its BTF. */
import { runTool } from '@bpf-recipes/cli';
import { Columns, clockTime, errnoName, signalName, tableText } from '@bpf-recipes/format';
import { codeName, generateResult } from './codes.js';
import { KsSource, decodeEvent, type Event } from './generated/killsnoop.js';
import { register } from './metrics.js';
import { spec, type KillsnoopArgs } from './spec.js';
import { targetOf } from './target.js';
import { parseTpid, procComm, setup, toRecord } from './trace.js';

void runTool<KillsnoopArgs>(spec, (ctx) => {
  const a = ctx.args;
  const all = Boolean(a['all-signals']);
  const skel = setup(ctx.session, {
    allSignals: all,
    failed: a.failed,
    tpid: a.tpid === undefined ? undefined : parseTpid(a.tpid),
    signal: a.signal?.split(','),
  }, { metrics: Boolean(ctx.metrics), by: ctx.metricsBy });
  if (ctx.metrics) register(ctx.metrics, { skel, by: ctx.metricsBy });

  const generated = (e: Event) => e.source === KsSource.KS_GENERATE;
  const result = (e: Event) => (generated(e) ? generateResult(e.ret) : String(e.ret));
  const cols = new Columns([
    { name: 'TIME', width: 12 },
    { name: 'PID', width: 7, align: 'right' },
    { name: 'COMM', width: 16 },
    { name: 'SIG', width: 12 },
    { name: 'TPID', width: 7, align: 'right' },
    { name: 'TCOMM', width: 16 },
    ...(all ? [{ name: 'CODE', width: 12 }] : []),
    { name: 'RESULT', width: 0 },
  ]);

  const line = (e: Event): string => {
    if (a.json) return JSON.stringify(toRecord(e, ctx.clock));
    const t = targetOf(e, procComm);
    if (a.sentence) {
      const what = `${tableText(e.comm)} (${e.pid}) sent signal ${e.sig} (${signalName(e.sig)}) to ${tableText(t.phrase)}`;
      if (generated(e)) return `${what}: ${codeName(e.sig, e.code)}, ${generateResult(e.ret)}`;
      return e.ret < 0 ? `${what}: failed with ${errnoName(-e.ret)}` : what;
    }
    return cols.row([clockTime(ctx.clock.wallMs(e.ts_ns)), e.pid, tableText(e.comm), signalName(e.sig), t.tpid ?? '?', tableText(t.tcomm), ...(all ? [codeName(e.sig, e.code)] : []), result(e)]);
  };

  if (!a.json && !a.sentence) ctx.out.line(cols.header());
  ctx.follow(skel.maps.events, (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready(all ? 'Tracing every generated signal... Hit Ctrl-C to end.' : 'Tracing signals sent by kill(2) and relatives... Hit Ctrl-C to end.');
});

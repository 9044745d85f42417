#!/usr/bin/env node
/** sslsnoop: user space. The kernel side is bpf/sslsnoop.bpf.c (uprobes on TLS libraries). */
import { note, runTool } from '@bpf-recipes/cli';
import { decodeText } from '@bpf-recipes/core';
import { Columns, blockText, clockTime, tableText } from '@bpf-recipes/format';
import { decodeEvent, type Event } from './generated/sslsnoop.js';
import { register } from './metrics.js';
import { HANDSHAKE, isWrite } from './probes.js';
import { blockHead, hexdump, printable } from './render.js';
import { spec, type SslArgs } from './spec.js';
import { dataOf, funcName, setup, toRecord } from './trace.js';

void runTool<SslArgs>(spec, (ctx) => {
  const a = ctx.args;
  const { skel, attached } = setup(ctx.session, {
    maxBufferSize: a['max-buffer-size'], handshake: a.handshake, binary: a.binary, noOpenssl: a['no-openssl'], noGnutls: a['no-gnutls'], noNss: a['no-nss'],
  }, { metrics: Boolean(ctx.metrics) });
  if (ctx.metrics) register(ctx.metrics, skel);

  const cols = new Columns([
    { name: 'FUNC', width: 18 },
    { name: 'TIME', width: 12 },
    { name: 'COMM', width: 16 },
    { name: 'PID', width: 7, align: 'right' },
    ...(a.extra ? [{ name: 'UID', width: 6, align: 'right' as const }, { name: 'TID', width: 7, align: 'right' as const }] : []),
    { name: 'LEN', width: 7, align: 'right' },
    ...(a.latency ? [{ name: 'LAT(ms)', width: 9, align: 'right' as const }] : []),
    { name: '', width: 0 },
  ]);

  const render = (e: Event, data: Buffer): string => {
    if (a.json) return JSON.stringify(toRecord(e, data, ctx.clock));
    const ms = ctx.clock.wallMs(e.ts_ns);
    const func = funcName(e);
    if (a.columns) return cols.row([func, clockTime(ms), tableText(e.comm), e.pid, ...(a.extra ? [e.uid, e.tid] : []), e.len, ...(a.latency ? [(e.lat_ns / 1e6).toFixed(3)] : []), '']).trimEnd();
    const head = blockHead(
      { dir: e.func === HANDSHAKE ? 'handshake' : isWrite(e.func) ? '>' : '<', pid: e.pid, tid: e.tid, uid: e.uid, comm: tableText(e.comm), len: e.len, ret: e.ret, func },
      { extra: a.extra, time: a.timestamp ? clockTime(ms) : undefined, latMs: a.latency ? e.lat_ns / 1e6 : undefined },
    );
    if (e.func === HANDSHAKE) return head;
    // text as it is, but a byte that is not UTF-8 shows as \xNN and a backslash as \\ (blockText)
    const body = a.hexdump || !printable(data) ? hexdump(data) : blockText(decodeText(data)).replace(/\n$/, '');
    return `${head}\n${body}${e.copied < e.len ? `\n[truncated: ${e.len} bytes, ${e.copied} shown]` : ''}`;
  };

  if (a.columns && !a.json) ctx.out.line(cols.header().trimEnd());
  ctx.follow(skel.maps.events, (b, off) => {
    const e = decodeEvent(b, off);
    ctx.out.line(render(e, dataOf(e, b, off)));
  });
  note('sslsnoop: the output holds decrypted TLS data (passwords, tokens, cookies): handle it like the keys themselves.');
  ctx.ready(`Tracing TLS reads and writes (${attached} functions)... Hit Ctrl-C to end.`);
});

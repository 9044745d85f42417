#!/usr/bin/env node
/** sslsnoop: user space. The kernel side is bpf/sslsnoop.bpf.c (uprobes on TLS libraries). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { attachUprobeCalls, note, parseIntArg, parsePids, runTool } from '@bpf-recipes/cli';
import { PreflightError, UsageError, decodeText, findProcessLibrary, findSystemLibrary } from '@bpf-recipes/core';
import { Columns, blockText, clockTime, isoTime, jsonFields, tableText } from '@bpf-recipes/format';
import { EVENT_SIZE, decodeEvent, rodata, type Event } from './generated/sslsnoop.js';
import { FUNC_NAMES, HANDSHAKE, LIBRARIES, OPENSSL, OPENSSL_HANDSHAKE, WRITES, type Probe } from './probes.js';
import { blockHead, hexdump, printable } from './render.js';
import { spec, type SslArgs } from './spec.js';

const KERNEL_MAX = 16384;

void runTool<SslArgs>(spec, (ctx) => {
  const a = ctx.args;
  const max = a['max-buffer-size'] === undefined ? 8192 : parseIntArg('max-buffer-size', a['max-buffer-size'], `a number of bytes from 0 to ${KERNEL_MAX}`, 0, KERNEL_MAX);
  for (const b of a.binary ?? []) if (!existsSync(b)) throw new UsageError(`--binary: ${b} does not exist`);
  const pids = a.pid === undefined ? [-1] : parsePids(a.pid);

  // what to probe: each library family in the system (or in each -p process's maps), and --binary files
  const targets: { binary: string; pid: number; probes: Probe[] }[] = [];
  for (const lib of LIBRARIES) {
    if ((lib.name === 'openssl' && a['no-openssl']) || (lib.name === 'gnutls' && a['no-gnutls']) || (lib.name === 'nss' && a['no-nss'])) continue;
    const probes = lib.name === 'openssl' && a.handshake ? [...lib.probes, OPENSSL_HANDSHAKE] : lib.probes;
    for (const pid of pids) {
      const path = lib.sonames.map((s) => (pid > 0 ? findProcessLibrary(pid, s) : findSystemLibrary(s))).find(Boolean);
      if (path) targets.push({ binary: path, pid, probes });
      else ctx.verbose(`no ${lib.name} library ${pid > 0 ? `in PID ${pid}` : 'on this system'} (${lib.sonames.join(', ')})`);
    }
  }
  for (const b of a.binary ?? []) for (const pid of pids) targets.push({ binary: b, pid, probes: a.handshake ? [...OPENSSL, OPENSSL_HANDSHAKE] : OPENSSL });

  const obj = ctx.open(fileURLToPath(new URL('../bpf/sslsnoop.bpf.o', import.meta.url)), rodata, { cfg_max_data: max });
  ctx.loadAndAttach(obj, { attach: false });
  const attached = attachUprobeCalls(obj, targets.flatMap((t) => t.probes.map((p) => ({ binary: t.binary, pid: t.pid, func: p.func, cookie: p.cookie, entry: p.entry, ret: 'sslsnoop_return' }))), ctx.verbose).length;
  if (attached === 0) throw new PreflightError('no TLS library function could be probed (none found, or all excluded): run with -v, or give --binary PATH');

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
    const ms = ctx.clock.wallMs(e.ts_ns);
    const func = FUNC_NAMES[e.func] ?? String(e.func);
    const truncated = e.copied < e.len;
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ms), pid: e.pid, tid: e.tid, uid: e.uid, ...jsonFields('comm', e.comm), func,
        direction: e.func === HANDSHAKE ? 'handshake' : WRITES.has(e.func) ? 'write' : 'read',
        len: e.len, data: data.toString('base64'), truncated, latency_us: Math.round(e.lat_ns / 10) / 100,
        ...(e.func === HANDSHAKE ? { ret: e.ret } : {}),
      });
    }
    if (a.columns) return cols.row([func, clockTime(ms), tableText(e.comm), e.pid, ...(a.extra ? [e.uid, e.tid] : []), e.len, ...(a.latency ? [(e.lat_ns / 1e6).toFixed(3)] : []), '']).trimEnd();
    const head = blockHead(
      { dir: e.func === HANDSHAKE ? 'handshake' : WRITES.has(e.func) ? '>' : '<', pid: e.pid, tid: e.tid, uid: e.uid, comm: tableText(e.comm), len: e.len, ret: e.ret, func },
      { extra: a.extra, time: a.timestamp ? clockTime(ms) : undefined, latMs: a.latency ? e.lat_ns / 1e6 : undefined },
    );
    if (e.func === HANDSHAKE) return head;
    // text as it is, but a byte that is not UTF-8 shows as \xNN and a backslash as \\ (blockText)
    const body = a.hexdump || !printable(data) ? hexdump(data) : blockText(decodeText(data)).replace(/\n$/, '');
    return `${head}\n${body}${truncated ? `\n[truncated: ${e.len} bytes, ${e.copied} shown]` : ''}`;
  };

  if (a.columns && !a.json) ctx.out.line(cols.header().trimEnd());
  ctx.follow(obj, 'events', (b, off) => {
    const e = decodeEvent(b, off);
    const data = Buffer.from(b.subarray(off + EVENT_SIZE, off + EVENT_SIZE + e.copied));
    ctx.out.line(render(e, data));
  });
  note('sslsnoop: the output holds decrypted TLS data (passwords, tokens, cookies): handle it like the keys themselves.');
  ctx.ready(`Tracing TLS reads and writes (${attached} functions)... Hit Ctrl-C to end.`);
});

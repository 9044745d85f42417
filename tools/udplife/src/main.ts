#!/usr/bin/env node
/** udplife: user space. The kernel side is bpf/udplife.bpf.c (cgroup socket hooks + tracepoints, no kprobes). */
import { fileURLToPath } from 'node:url';
import { cgroup2Mount, parseIntArg, runTool } from '@bpf-recipes/cli';
import { PreflightError, UsageError, rawTracepointExists, type BpfObject } from '@bpf-recipes/core';
import { Columns, addrText, clockTime, isoTime, jsonFields, tableText } from '@bpf-recipes/format';
import { decodeEvent, rodata, type Event } from './generated/udplife.js';
import { spec, type UdplifeArgs } from './spec.js';

const MAX_PEERS = 8;

/**
 * Where bytes, datagrams and peers come from, best first; chosen at load time:
 * - tracepoints: sock:sock_send_length/sock_recv_length (6.3+), what each call sent or received;
 *   peers of unconnected sockets from the send/recv syscalls' addresses
 * - skb: the cgroup skb hooks on the root cgroup, each packet's payload and its IP/UDP headers
 * - none: lifetimes and addresses only; bytes, datagrams and unconnected peers print as -
 * BPF_RECIPES_UDPLIFE_SOURCE=skb|none starts lower down the list (to test a fallback on a new kernel).
 */
export const SOURCES = ['tracepoints', 'skb', 'none'] as const;
type Source = (typeof SOURCES)[number];
const SOURCE_TEXT: Record<Source, string> = {
  tracepoints: 'bytes from the sock:sock_send_length/sock_recv_length tracepoints, peers from the send/recv syscalls',
  skb: 'bytes and peers from the cgroup skb hooks (each packet\'s UDP payload and headers)',
  none: 'no bytes or peers',
};
const PROGRAMS: Record<Source, (name: string) => boolean> = {
  tracepoints: (n) => !/^udplife_(egress|ingress)$/.test(n),
  skb: (n) => /^udplife_(create|release|egress|ingress)$/.test(n),
  none: (n) => /^udplife_(create|release)$/.test(n),
};

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

  const config = {
    cfg_family: a.ipv4 ? 2 : a.ipv6 ? 10 : 0,
    cfg_lports: lports,
    cfg_nlports: lports.length,
    cfg_rports: rports,
    cfg_nrports: rports.length,
  };
  const objPath = fileURLToPath(new URL('../bpf/udplife.bpf.o', import.meta.url));
  const load = (source: Source): BpfObject => {
    const o = ctx.open(objPath, rodata, config);
    try {
      for (const p of o.programs) o.setAutoload(p.name, PROGRAMS[source](p.name));
      ctx.loadAndAttach(o);
      o.attachCgroup('udplife_create', root);
      o.attachCgroup('udplife_release', root);
      if (source === 'skb') {
        o.attachCgroup('udplife_egress', root);
        o.attachCgroup('udplife_ingress', root);
      }
      return o;
    } catch (e) {
      o.close(); // nothing of a failed source stays attached
      throw e;
    }
  };
  const forced = process.env.BPF_RECIPES_UDPLIFE_SOURCE || undefined;
  if (forced !== undefined && !(SOURCES as readonly string[]).includes(forced)) {
    throw new UsageError(`BPF_RECIPES_UDPLIFE_SOURCE=${forced}: give one of ${SOURCES.join(', ')}`);
  }
  let candidates: Source[] = [...SOURCES.slice(SOURCES.indexOf((forced as Source | undefined) ?? 'tracepoints'))];
  const why: string[] = [];
  if (candidates[0] === 'tracepoints' && !(rawTracepointExists('sock_send_length') && rawTracepointExists('sock_recv_length'))) {
    why.push('no sock:sock_send_length/sock_recv_length tracepoints (Linux 6.3+)');
    candidates = candidates.slice(1);
  }
  let obj: BpfObject | undefined;
  let source: Source = 'none';
  for (const c of candidates) {
    try {
      obj = load(c);
      source = c;
      break;
    } catch (e) {
      if (c === 'none') throw e;
      const msg = (e as Error).message.split('\n')[0];
      why.push(`${c === 'skb' ? 'cgroup skb hooks' : 'send/recv length tracepoints'}: ${msg}`);
      ctx.verbose(`cannot use the ${c} source (${msg}); trying the next`);
    }
  }
  ctx.verbose(`socket hooks on the cgroup v2 root ${root}; ${SOURCE_TEXT[source]}${why.length ? ` (${why.join('; ')})` : ''}`);
  // a kernel that gives no bytes: say so once, and print - rather than a 0 that would be a lie
  const counted = source !== 'none';
  if (!counted) process.stderr.write(`udplife: this kernel gives no per-socket bytes (${why.join('; ') || 'BPF_RECIPES_UDPLIFE_SOURCE=none'}): TX_B, RX_B and unconnected PEERS show -\n`);

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
  // the kernel keeps MAX_PEERS distinct peers and says MAX_PEERS + 1 for more
  const peersKnown = (e: Event) => counted || Boolean(e.connected);
  const peers = (e: Event) => (!peersKnown(e) ? '-' : e.peers > MAX_PEERS ? `${MAX_PEERS}+` : String(e.peers));
  const n = (v: number) => (counted ? v : null);
  const line = (e: Event): string => {
    const ms = (e.ts_ns - e.start_ns) / 1e6;
    const laddr = addrText(e.family, e.laddr);
    const raddr = e.rport || e.connected ? addrText(e.family, e.raddr) : '-';
    if (a.json) {
      return JSON.stringify({
        time: isoTime(ctx.clock.wallMs(e.ts_ns)), pid: e.pid, uid: e.uid, ...jsonFields('comm', e.comm), family: e.family === 10 ? 'ipv6' : 'ipv4',
        laddr, lport: e.lport, raddr: raddr === '-' ? null : raddr, rport: e.rport || null, connected: Boolean(e.connected),
        peers: peersKnown(e) ? Math.min(e.peers, MAX_PEERS) : null, peers_more: peersKnown(e) ? e.peers > MAX_PEERS : null,
        tx_bytes: n(e.tx_bytes), rx_bytes: n(e.rx_bytes), tx_packets: n(e.tx_packets), rx_packets: n(e.rx_packets),
        duration_ms: Math.round(ms * 1000) / 1000,
      });
    }
    return cols.row([...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []), e.pid, tableText(e.comm), laddr, e.lport, raddr, e.rport || '-', peers(e), n(e.tx_bytes) ?? '-', n(e.rx_bytes) ?? '-', ms.toFixed(2)]);
  };
  if (!a.json) ctx.out.line(cols.header());
  ctx.follow(obj!, 'events', (b, off) => ctx.out.line(line(decodeEvent(b, off))));
  ctx.ready('Tracing UDP sockets (one line when each closes)... Hit Ctrl-C to end.');
});

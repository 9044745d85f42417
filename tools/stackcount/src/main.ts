#!/usr/bin/env node
/**
 * stackcount: user space. The kernel side (bpf/stackcount.bpf.c) stores stacks and counts them;
 * this attaches it to the tracepoint named on the command line, names the stacks (libs/symbols)
 * and prints them.
 */
import { fileURLToPath } from 'node:url';
import { runTool, note, parseIntArg } from '@bpf-recipes/cli';
import { UsageError, tracefsRoot, tracepointExists, type BpfMap } from '@bpf-recipes/core';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { Symbolizer, frameLabel, type Frame } from '@bpf-recipes/symbols';
import { decodeStackKey, decodeStackVal, rodata } from './generated/stackcount.js';
import { parseInterval, parseTracepoint, splitPositionals } from './args.js';
import { spec, type StackcountArgs } from './spec.js';

const MISSED_KERNEL = 0;
const MISSED_USER = 1;
const MISSED_COUNTS = 2;

/** what one counts-map key names, once its stacks are read */
interface Named {
  pid: number;
  comm: string;
  kernel: string[] | undefined; // leaf first; undefined when not captured
  user: string[] | undefined;
}

// the parser takes no positionals: CATEGORY:EVENT is taken out first
const split = splitPositionals(spec, process.argv.slice(2));
process.argv = [...process.argv.slice(0, 2), ...split.options];

void runTool<StackcountArgs>(spec, (ctx) => {
  const a = ctx.args;
  const tp = parseTracepoint(split.positionals);
  if (a.kernel && a.user) throw new UsageError('-K and -U exclude each other: give one, or neither for both stacks');
  const format = a.format ?? 'text';
  if (format !== 'text' && format !== 'folded') throw new UsageError(`--format: '${format}' is not text or folded`);
  if (a.json && a.format !== undefined) throw new UsageError('--json and --format exclude each other');
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  const wantKernel = !a.user;
  const wantUser = !a.kernel;
  const perProcess = Boolean(a['per-process']);
  const storage = a['stack-storage-size'] === undefined ? 16384 : parseIntArg('stack-storage-size', a['stack-storage-size'], 'a number of stacks from 1 to 262144', 1, 262144);
  const countsMax = Math.max(16384, storage);

  const objPath = fileURLToPath(new URL('../bpf/stackcount.bpf.o', import.meta.url));
  const obj = ctx.open(objPath, rodata, { cfg_kernel: wantKernel, cfg_user: wantUser });
  if (!tracepointExists(tp.category, tp.event)) {
    throw new UsageError(`no tracepoint ${tp.category}:${tp.event} on this kernel (list them: ls ${tracefsRoot() ?? '/sys/kernel/tracing'}/events/${tp.category}/)`);
  }
  obj.setMaxEntries('events', 4096); // no event stream: counts live in maps
  obj.setMaxEntries('stacks', storage);
  obj.setMaxEntries('counts', countsMax);
  ctx.loadAndAttach(obj, { attach: false });
  obj.attachTracepoint('stackcount_tp', tp.category, tp.event);
  ctx.verbose(`attached stackcount_tp to ${tp.category}:${tp.event}`);

  const counts = obj.map('counts');
  const stacks = obj.map('stacks');
  const missed = obj.map('missed');
  const sym = new Symbolizer();
  const named = new Map<string, Named>(); // counts key (hex) → names, fixed once read
  const userNames = new Map<string, string[]>(); // `${pid}:${ustack}` → names
  const prev = new Map<string, number>();
  const prevMissed = [0, 0, 0];
  let lastPrint = Date.now();
  let kernelHiddenSaid = false;

  const readStack = (id: number): bigint[] => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const v = stacks.lookup(key);
    if (!v) return [];
    const out: bigint[] = [];
    for (let o = 0; o + 8 <= v.length; o += 8) {
      const ip = v.readBigUInt64LE(o);
      if (ip === 0n) break;
      out.push(ip);
    }
    return out;
  };
  const kernelNames = (id: number): string[] | undefined => {
    if (!wantKernel) return undefined;
    if (id === -2) return ['[missed kernel stack]'];
    if (id < 0) return [];
    const k = sym.kernel();
    if (k.hidden && !kernelHiddenSaid) {
      kernelHiddenSaid = true;
      note(`stackcount: ${k.hidden}`);
    }
    return sym.kernelStack(readStack(id)).map(frameLabel);
  };
  const userNamesOf = (pid: number, id: number): string[] | undefined => {
    if (!wantUser) return undefined;
    if (id === -2) return ['[missed user stack]'];
    if (id < 0) return [];
    const cacheKey = `${pid}:${id}`;
    let names = userNames.get(cacheKey);
    if (!names) {
      names = sym.userStack(pid, readStack(id)).map((f: Frame) => frameLabel(f));
      userNames.set(cacheKey, names);
    }
    return names;
  };

  /** Name the stacks of keys not seen before, while their processes (probably) still run. */
  const nameNew = (withCounts = true): Map<string, { key: Named; total: number }> => {
    const now = new Map<string, { key: Named; total: number }>();
    for (const k of counts.keys()) {
      const id = k.toString('hex');
      if (!withCounts && named.has(id)) continue;
      const v = counts.lookup(k);
      if (!v) continue;
      const val = decodeStackVal(v, 0);
      let n = named.get(id);
      if (!n) {
        const sk = decodeStackKey(k, 0);
        n = { pid: sk.pid, comm: val.comm, kernel: kernelNames(sk.kstack), user: userNamesOf(sk.pid, sk.ustack) };
        named.set(id, n);
      }
      now.set(id, { key: n, total: val.count });
    }
    sym.user.prune();
    return now;
  };

  const readMissed = (): number[] => [MISSED_KERNEL, MISSED_USER, MISSED_COUNTS].map((i) => sumAt(missed, i));

  const print = () => {
    const now = Date.now();
    // since the last print, merged by what is printed (comm or pid, and the named frames)
    const rows = new Map<string, { pid?: number; comm: string; kernel?: string[]; user?: string[]; count: number }>();
    for (const [id, { key, total }] of nameNew()) {
      const d = total - (prev.get(id) ?? 0);
      prev.set(id, total);
      if (d <= 0) continue;
      const group = JSON.stringify([perProcess ? key.pid : undefined, key.comm, key.kernel, key.user]);
      const r = rows.get(group);
      if (r) r.count += d;
      else rows.set(group, { ...(perProcess ? { pid: key.pid } : {}), comm: key.comm, kernel: key.kernel, user: key.user, count: d });
    }
    const sorted = [...rows.values()].sort((x, y) => y.count - x.count);
    const m = readMissed();
    const dm = m.map((v, i) => v - prevMissed[i]);
    m.forEach((v, i) => (prevMissed[i] = v));

    if (a.json) {
      ctx.out.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {}),
        tracepoint: `${tp.category}:${tp.event}`,
        stacks: sorted.map((r) => ({ ...(r.pid !== undefined ? { pid: r.pid } : {}), comm: r.comm, count: r.count, ...(r.kernel ? { kernel: r.kernel } : {}), ...(r.user ? { user: r.user } : {}) })),
        missed: { kernel_stacks: dm[0], user_stacks: dm[1], counts: dm[2] },
      }));
    } else if (format === 'folded') {
      for (const r of sorted) {
        // root first: user frames outermost, then kernel frames
        const frames = [...(r.user ?? []).slice().reverse(), ...(r.kernel ?? []).slice().reverse()];
        const head = r.pid !== undefined ? `${r.comm}-${r.pid}` : r.comm;
        ctx.out.line(`${[head, ...frames].map(foldedFrame).join(';')} ${r.count}`);
      }
    } else {
      if (intervalS !== undefined) ctx.out.line(intervalHeader(now));
      for (const r of sorted) {
        for (const f of r.kernel ?? []) ctx.out.line(`  ${f}`);
        if (r.kernel && r.user?.length) ctx.out.line('  --');
        for (const f of r.user ?? []) ctx.out.line(`  ${f}`);
        ctx.out.line(`    ${r.comm}${r.pid !== undefined ? ` [${r.pid}]` : ''}`);
        ctx.out.line(`    ${r.count}`);
        ctx.out.line('');
      }
    }
    if (dm[0] || dm[1]) {
      note(`stackcount: ${dm[0]} kernel and ${dm[1]} user stacks could not be stored (stack map full or a hash collision: a larger --stack-storage-size helps); counted as [missed ... stack]`);
    }
    if (dm[2]) note(`stackcount: Lost ${dm[2]} events: the counts map was full (${countsMax} distinct stacks)`);
    lastPrint = now;
  };

  // name new stacks every second: a process that exits before the print keeps its names
  ctx.every(1000, () => void nameNew(false));
  if (intervalS !== undefined) ctx.every(intervalS * 1000, print);
  ctx.onStop(print);
  const which = wantKernel && wantUser ? 'kernel and user' : wantKernel ? 'kernel' : 'user';
  ctx.ready(`Tracing ${which} stacks at ${tp.category}:${tp.event}${intervalS ? `, printing every ${intervalS}s` : ''}... Hit Ctrl-C to end.`);
});

function sumAt(map: BpfMap, index: number): number {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(index);
  return map.sumU64(k);
}

/** A frame in a folded line: `;` separates frames and the last space the count, so neither may hide in a name. */
function foldedFrame(s: string): string {
  return s.replace(/;/g, ':').replace(/[\r\n]/g, ' ');
}

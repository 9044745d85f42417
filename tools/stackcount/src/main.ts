#!/usr/bin/env node
/**
 * stackcount: user space. The kernel side (bpf/stackcount.bpf.c) stores stacks and counts them;
 * this attaches it to the tracepoint named on the command line, names the stacks (libs/symbols)
 * and prints them.
 */
import { openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runTool, note, parseIntArg, Output } from '@bpf-recipes/cli';
import { RecipesError, UsageError, tracefsRoot, tracepointExists, type BpfMap } from '@bpf-recipes/core';
import { intervalHeader, isoTime } from '@bpf-recipes/format';
import { Symbolizer, frameLabel, type Frame } from '@bpf-recipes/symbols';
import { toPprof, toSpeedscope, toSvg, totalCount, type FlameFrame, type FlameStack } from '@bpf-recipes/flame';
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
  kernel: FlameFrame[] | undefined; // leaf first; undefined when not captured
  user: FlameFrame[] | undefined;
}

const FORMATS = ['text', 'folded', 'speedscope', 'pprof', 'svg'];
/** formats that are one file for the whole run, written at the end */
const FILE_FORMATS = ['speedscope', 'pprof', 'svg'];

// the parser takes no positionals: CATEGORY:EVENT is taken out first
const split = splitPositionals(spec, process.argv.slice(2));
process.argv = [...process.argv.slice(0, 2), ...split.options];

void runTool<StackcountArgs>(spec, (ctx) => {
  const a = ctx.args;
  const tp = parseTracepoint(split.positionals);
  if (a.kernel && a.user) throw new UsageError('-K and -U exclude each other: give one, or neither for both stacks');
  const format = a.format ?? 'text';
  if (!FORMATS.includes(format)) throw new UsageError(`--format: '${format}' is not one of ${FORMATS.join(', ')}`);
  if (a.json && a.format !== undefined) throw new UsageError('--json and --format exclude each other');
  const intervalS = a.interval === undefined ? undefined : parseInterval(a.interval);
  const fileFormat = FILE_FORMATS.includes(format);
  if (fileFormat && intervalS !== undefined) throw new UsageError(`--format ${format} writes one profile for the whole run: drop --interval (or use --format folded with it)`);
  if (a.output === '') throw new UsageError('-o/--output: give a file name');
  if (format === 'pprof' && a.output === undefined && process.stdout.isTTY) throw new UsageError('--format pprof is gzipped binary: write it to a file with -o FILE (or redirect stdout)');
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
  // -o: the file is created once the arguments are known good, before anything is attached
  let outFd: number | undefined;
  if (a.output !== undefined) {
    try {
      outFd = openSync(a.output, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new RecipesError(`-o ${a.output}: cannot create it (${err.code ?? err.message}): name a writable file`);
    }
  }
  const out = outFd !== undefined ? new Output(outFd) : ctx.out;
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
  const userNames = new Map<string, FlameFrame[]>(); // `${pid}:${ustack}` → names
  const prev = new Map<string, number>();
  const prevMissed = [0, 0, 0];
  let lastPrint = Date.now();
  const startedAt = lastPrint;
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
  const named_ = (f: Frame): FlameFrame => (f.module !== undefined ? { name: frameLabel(f), module: f.module } : { name: frameLabel(f) });
  const kernelNames = (id: number): FlameFrame[] | undefined => {
    if (!wantKernel) return undefined;
    if (id === -2) return [{ name: '[missed kernel stack]' }];
    if (id < 0) return [];
    const k = sym.kernel();
    if (k.hidden && !kernelHiddenSaid) {
      kernelHiddenSaid = true;
      note(`stackcount: ${k.hidden}`);
    }
    return sym.kernelStack(readStack(id)).map(named_);
  };
  const userNamesOf = (pid: number, id: number): FlameFrame[] | undefined => {
    if (!wantUser) return undefined;
    if (id === -2) return [{ name: '[missed user stack]' }];
    if (id < 0) return [];
    const cacheKey = `${pid}:${id}`;
    let names = userNames.get(cacheKey);
    if (!names) {
      names = sym.userStack(pid, readStack(id)).map(named_);
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
    const rows = new Map<string, { pid?: number; comm: string; kernel?: FlameFrame[]; user?: FlameFrame[]; count: number }>();
    for (const [id, { key, total }] of nameNew()) {
      const d = total - (prev.get(id) ?? 0);
      prev.set(id, total);
      if (d <= 0) continue;
      const group = JSON.stringify([perProcess ? key.pid : undefined, key.comm, key.kernel?.map(nameOf), key.user?.map(nameOf)]);
      const r = rows.get(group);
      if (r) r.count += d;
      else rows.set(group, { ...(perProcess ? { pid: key.pid } : {}), comm: key.comm, kernel: key.kernel, user: key.user, count: d });
    }
    const sorted = [...rows.values()].sort((x, y) => y.count - x.count);
    const m = readMissed();
    const dm = m.map((v, i) => v - prevMissed[i]);
    m.forEach((v, i) => (prevMissed[i] = v));

    if (a.json) {
      out.line(JSON.stringify({
        time: isoTime(now),
        ...(intervalS !== undefined ? { interval_s: Math.round(now - lastPrint) / 1000 } : {}),
        tracepoint: `${tp.category}:${tp.event}`,
        stacks: sorted.map((r) => ({ ...(r.pid !== undefined ? { pid: r.pid } : {}), comm: r.comm, count: r.count, ...(r.kernel ? { kernel: r.kernel.map(nameOf) } : {}), ...(r.user ? { user: r.user.map(nameOf) } : {}) })),
        missed: { kernel_stacks: dm[0], user_stacks: dm[1], counts: dm[2] },
      }));
    } else if (format === 'folded' || fileFormat) {
      // root first: the comm (and PID), user frames outermost, then kernel frames
      const flame: FlameStack[] = sorted.map((r) => ({
        frames: [{ name: r.pid !== undefined ? `${r.comm}-${r.pid}` : r.comm }, ...(r.user ?? []).slice().reverse(), ...(r.kernel ?? []).slice().reverse()],
        count: r.count,
      }));
      if (format === 'folded') {
        for (const s of flame) out.line(`${s.frames.map((f) => foldedFrame(f.name)).join(';')} ${s.count}`);
      } else {
        const meta = { name: `stackcount ${tp.category}:${tp.event}`, startMs: startedAt, durationMs: now - startedAt };
        const data =
          format === 'pprof'
            ? toPprof(flame, meta)
            : Buffer.from(format === 'speedscope' ? JSON.stringify(toSpeedscope(flame, meta, 'bpf-recipes stackcount')) + '\n' : toSvg(flame, { title: meta.name, countName: 'counts' }));
        out.flush();
        writeAll(outFd ?? 1, data);
        if (outFd !== undefined) note(`stackcount: wrote ${flame.length} stack${flame.length === 1 ? '' : 's'} (${totalCount(flame)} counts) to ${a.output} (${format})`);
      }
    } else {
      if (intervalS !== undefined) out.line(intervalHeader(now));
      for (const r of sorted) {
        for (const f of r.kernel ?? []) out.line(`  ${f.name}`);
        if (r.kernel && r.user?.length) out.line('  --');
        for (const f of r.user ?? []) out.line(`  ${f.name}`);
        out.line(`    ${r.comm}${r.pid !== undefined ? ` [${r.pid}]` : ''}`);
        out.line(`    ${r.count}`);
        out.line('');
      }
    }
    if (out !== ctx.out) out.flush();
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

function nameOf(f: FlameFrame): string {
  return f.name;
}

/** Write all of data to fd (a file, or stdout: a reader that went away ends the write quietly). */
function writeAll(fd: number, data: Buffer): void {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(wait, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') return;
      throw new RecipesError(`writing the profile: ${code ?? (e as Error).message}`);
    }
  }
}

/** A frame in a folded line: `;` separates frames and the last space the count, so neither may hide in a name. */
function foldedFrame(s: string): string {
  return s.replace(/;/g, ':').replace(/[\r\n]/g, ' ');
}

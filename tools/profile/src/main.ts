#!/usr/bin/env node
/**
 * profile: user space. The kernel side (bpf/profile.bpf.c) samples stacks on every CPU and counts
 * them; src/trace.ts sets it up (the same setup() the typed API start() uses); this prints them.
 */
import { openSync, writeSync } from 'node:fs';
import { runTool, note, Output } from '@bpf-recipes/cli';
import { RecipesError, UsageError } from '@bpf-recipes/core';
import { isoTime } from '@bpf-recipes/format';
import { toPprof, toSpeedscope, toSvg, totalCount, type FlameFrame, type FlameStack } from '@bpf-recipes/flame';
import { profileConfig, setup } from './trace.js';
import { spec, type ProfileArgs } from './spec.js';

const FORMATS = ['text', 'folded', 'speedscope', 'pprof', 'svg'];
/** formats that are one file for the whole run, written at the end */
const FILE_FORMATS = ['speedscope', 'pprof', 'svg'];

void runTool<ProfileArgs>(spec, (ctx) => {
  const a = ctx.args;
  if (a.kernel && a.user) throw new UsageError('-K and -U exclude each other: give one, or neither for both stacks');
  const format = a.format ?? 'text';
  if (!FORMATS.includes(format)) throw new UsageError(`--format: '${format}' is not one of ${FORMATS.join(', ')}`);
  if (a.json && a.format !== undefined) throw new UsageError('--json and --format exclude each other');
  if (a.output === '') throw new UsageError('-o/--output: give a file name');
  if (format === 'pprof' && a.output === undefined && process.stdout.isTTY) throw new UsageError('--format pprof is gzipped binary: write it to a file with -o FILE (or redirect stdout)');
  const config = profileConfig({
    frequency: a.frequency,
    kernel: !a.user,
    user: !a.kernel,
    includeIdle: a['include-idle'],
    stackStorageSize: a['stack-storage-size'],
  });
  const perProcess = Boolean(a['per-process']);
  const fileFormat = FILE_FORMATS.includes(format);

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
  const sampler = setup(ctx.session, config);
  const startedAt = Date.now();

  const print = () => {
    const now = Date.now();
    const hidden = sampler.kernelHidden();
    if (hidden) note(`profile: ${hidden}`);
    // merged by what is printed (comm or pid, and the named frames)
    const rows = new Map<string, { pid?: number; comm: string; kernel?: FlameFrame[]; user?: FlameFrame[]; count: number }>();
    for (const s of sampler.stacks()) {
      const group = JSON.stringify([perProcess ? s.pid : undefined, s.comm, s.kernel?.map(nameOf), s.user?.map(nameOf)]);
      const r = rows.get(group);
      if (r) r.count += s.count;
      else rows.set(group, { ...(perProcess ? { pid: s.pid } : {}), comm: s.comm, kernel: s.kernel, user: s.user, count: s.count });
    }
    const sorted = [...rows.values()].sort((x, y) => y.count - x.count);
    const m = sampler.missed();
    const samples = sorted.reduce((n, r) => n + r.count, 0);

    if (a.json) {
      out.line(JSON.stringify({
        time: isoTime(now),
        duration_s: Math.round(now - startedAt) / 1000,
        frequency_hz: config.frequency,
        cpus: sampler.cpus.length,
        samples,
        stacks: sorted.map((r) => ({ ...(r.pid !== undefined ? { pid: r.pid } : {}), comm: r.comm, count: r.count, ...(r.kernel ? { kernel: r.kernel.map(nameOf) } : {}), ...(r.user ? { user: r.user.map(nameOf) } : {}) })),
        missed: { kernel_stacks: m.kernelStacks, user_stacks: m.userStacks, counts: m.counts },
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
        const meta = { name: `profile -F ${config.frequency}`, sampleType: 'samples', unit: 'count', startMs: startedAt, durationMs: now - startedAt };
        const data =
          format === 'pprof'
            ? toPprof(flame, meta)
            : Buffer.from(format === 'speedscope' ? JSON.stringify(toSpeedscope(flame, meta, 'bpf-recipes profile')) + '\n' : toSvg(flame, { title: meta.name, countName: 'samples' }));
        out.flush();
        writeAll(outFd ?? 1, data);
        if (outFd !== undefined) note(`profile: wrote ${flame.length} stack${flame.length === 1 ? '' : 's'} (${totalCount(flame)} samples) to ${a.output} (${format})`);
      }
    } else {
      for (const r of sorted) {
        for (const f of r.kernel ?? []) out.line(`  ${f.name}`);
        if (r.kernel?.length && r.user?.length) out.line('  --');
        for (const f of r.user ?? []) out.line(`  ${f.name}`);
        out.line(`    ${r.comm}${r.pid !== undefined ? ` [${r.pid}]` : ''}`);
        out.line(`    ${r.count}`);
        out.line('');
      }
    }
    if (out !== ctx.out) out.flush();
    if (m.kernelStacks || m.userStacks) {
      note(`profile: ${m.kernelStacks} kernel and ${m.userStacks} user stacks could not be stored (stack map full or a hash collision: a larger --stack-storage-size helps); counted as [missed ... stack]`);
    }
    if (m.counts) note(`profile: Lost ${m.counts} samples: the counts map was full (${Math.max(16384, config.storage)} distinct stacks)`);
  };

  // name new stacks every second: a process that exits before the end keeps its names
  ctx.every(1000, () => sampler.nameNew());
  ctx.onStop(print);
  const which = config.kernel && config.user ? 'kernel and user' : config.kernel ? 'kernel' : 'user';
  ctx.ready(`Tracing ${which} stacks: sampling at ${config.frequency} Hz on ${sampler.cpus.length} CPU${sampler.cpus.length === 1 ? '' : 's'}... Hit Ctrl-C to end.`);
});

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

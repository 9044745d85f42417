/**
 * The output of a stack tool: text (bcc-style, leaf first), folded lines, or one profile file
 * (speedscope, pprof, svg) written at the end; to stdout or to the file of -o.
 */
import { openSync, writeSync } from 'node:fs';
import { Output, note } from '@bpf-recipes/runtime';
import { RecipesError } from '@bpf-recipes/core';
import { toPprof, toSpeedscope, toSvg, totalCount, type FlameStack, type ProfileMeta } from '@bpf-recipes/flame';
import { type StackOptions } from './options.js';
import { flameStack, type StackRow } from './table.js';

export interface StackWriterOptions {
  tool: string;
  options: Pick<StackOptions, 'format' | 'output'>;
  /** stdout's Output (the tool's ctx.out) */
  stdout: Output;
  /** what a count is: the SVG's hover text and the note after writing a file ("counts", "us") */
  countName: string;
  /** pprof's sample type and unit, speedscope's unit (defaults: count) */
  sampleType?: string;
  unit?: string;
  /** pprof: sample types besides the first (each row's values in StackRow.more) */
  more?: { sampleType: string; unit: string }[];
  /** the text format's number line (default: the number) */
  textCount?: (n: number) => string;
}

export class StackWriter {
  private fd: number | undefined;
  private out: Output;

  constructor(private readonly o: StackWriterOptions) {
    this.out = o.stdout;
  }

  /** Create the -o file (once the arguments are known good, before anything is attached). */
  open(): void {
    const file = this.o.options.output;
    if (file === undefined || this.fd !== undefined) return;
    try {
      this.fd = openSync(file, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new RecipesError(`-o ${file}: cannot create it (${err.code ?? err.message}): name a writable file`);
    }
    this.out = new Output(this.fd);
  }

  /** where lines go: stdout, or the -o file */
  get lines(): Output {
    return this.out;
  }

  /**
   * Write rows in the chosen format. `header` (text only) goes first; `meta` names the profile of
   * the file formats (its start and duration).
   */
  write(rows: readonly StackRow[], meta: ProfileMeta, header?: string): void {
    const { format } = this.o.options;
    const out = this.out;
    if (format === 'text') {
      if (header !== undefined) out.line(header);
      const count = this.o.textCount ?? String;
      for (const r of rows) {
        for (const l of stackTextLines(r)) out.line(l);
        out.line(`    ${count(r.count)}`);
        out.line('');
      }
    } else {
      const flame: FlameStack[] = rows.map(flameStack);
      if (format === 'folded') {
        for (const s of flame) out.line(foldedLine(s));
      } else {
        const full: ProfileMeta = { sampleType: this.o.sampleType, unit: this.o.unit, ...(this.o.more ? { more: this.o.more } : {}), ...meta };
        const data =
          format === 'pprof'
            ? toPprof(flame, full)
            : Buffer.from(format === 'speedscope' ? JSON.stringify(toSpeedscope(flame, full, `bpf-recipes ${this.o.tool}`)) + '\n' : toSvg(flame, { title: meta.name, countName: this.o.countName }));
        out.flush();
        writeAll(this.fd ?? 1, data);
        if (this.fd !== undefined) {
          note(`${this.o.tool}: wrote ${flame.length} stack${flame.length === 1 ? '' : 's'} (${totalCount(flame)} ${this.o.countName}) to ${this.o.options.output} (${format})`);
        }
      }
    }
    if (out !== this.o.stdout) out.flush();
  }
}

/**
 * A stack in the text format: its frames one per line, leaf first (kernel, `--`, user), then its
 * comm (and `[PID]` with -P). The tool prints its number below.
 */
export function stackTextLines(r: Pick<StackRow, 'kernel' | 'user' | 'comm' | 'pid'>): string[] {
  const out: string[] = [];
  for (const f of r.kernel ?? []) out.push(`  ${f.name}`);
  // `--` between kernel and user frames, only when there are both (a sample in user mode has none in the kernel)
  if (r.kernel?.length && r.user?.length) out.push('  --');
  for (const f of r.user ?? []) out.push(`  ${f.name}`);
  out.push(`    ${r.comm}${r.pid !== undefined ? ` [${r.pid}]` : ''}`);
  return out;
}

/** A folded line: `root;...;leaf count`. */
export function foldedLine(s: FlameStack): string {
  return `${s.frames.map((f) => foldedFrame(f.name)).join(';')} ${s.count}`;
}

/** A frame in a folded line: `;` separates frames and the last space the count, so neither may hide in a name. */
export function foldedFrame(s: string): string {
  return s.replace(/;/g, ':').replace(/[\r\n]/g, ' ');
}

/** Write all of data to fd (a file, or stdout: a reader that went away ends the write quietly). */
export function writeAll(fd: number, data: Buffer): void {
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

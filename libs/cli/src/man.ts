/**
 * Man pages (roff, section 8) generated from a ToolSpec — the same table --help is made from, so
 * the two cannot disagree.
 */
import type { OptionSpec } from './args.js';
import { allOptions, type ToolSpec } from './tool.js';
import { COMMAND_NOTE, COMMAND_USAGE } from './options.js';

const esc = (s: string) => s.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-');

function flagText(name: string, o: OptionSpec): string {
  const short = o.alias ? [`\\fB\\-${o.alias}\\fR`] : [];
  const arg = o.type === 'boolean' ? '' : ` \\fI${esc(o.arg ?? 'VALUE')}\\fR`;
  return [...short, `\\fB\\-\\-${esc(name)}\\fR`].join(', ') + arg;
}

export function manPage(spec: ToolSpec, opts: { section?: string; date?: string; extra?: string } = {}): string {
  const section = opts.section ?? '8';
  const date = opts.date ?? new Date().toISOString().slice(0, 10);
  const out: string[] = [];
  out.push(`.TH ${spec.name.toUpperCase()} ${section} "${date}" "bpf-recipes ${spec.version}" "bpf-recipes"`);
  out.push('.SH NAME');
  out.push(`${esc(spec.name)} \\- ${esc(spec.summary.replace(/\.$/, ''))}`);
  out.push('.SH SYNOPSIS');
  out.push(`.B ${esc(spec.name)}`);
  out.push(esc(`${spec.usage ?? '[options]'} ${COMMAND_USAGE}`));
  out.push('.SH DESCRIPTION');
  out.push(esc(spec.summary));
  if (spec.notes) {
    out.push('.PP');
    out.push(esc(spec.notes));
  }
  out.push('.SS Running a command');
  out.push(esc(COMMAND_NOTE));
  const all = allOptions(spec);
  for (const group of ['Options:', 'Common options:']) {
    const entries = Object.entries(all).filter(([, o]) => o.group === group);
    if (!entries.length) continue;
    out.push(`.SH ${group === 'Options:' ? 'OPTIONS' : 'COMMON OPTIONS'}`);
    for (const [name, o] of entries) {
      out.push('.TP');
      out.push(flagText(name, o));
      out.push(esc(String(o.describe ?? '')));
    }
  }
  out.push('.TP');
  out.push('\\fB\\-h\\fR, \\fB\\-\\-help\\fR');
  out.push('show this help, with examples');
  out.push('.TP');
  out.push('\\fB\\-V\\fR, \\fB\\-\\-version\\fR');
  out.push('show the version');
  if (spec.examples.length) {
    out.push('.SH EXAMPLES');
    for (const [cmd, what] of spec.examples) {
      out.push('.TP');
      out.push(`\\fB${esc(cmd)}\\fR`);
      out.push(esc(what));
    }
  }
  out.push('.SH EXIT STATUS');
  out.push('0 at a normal end (Ctrl\\-C, SIGTERM, SIGHUP, \\-\\-duration, or a closed output pipe); 1 when tracing cannot start or fails; 2 for bad usage. With \\-\\- COMMAND: the command\'s exit status (128+N when signal N ended it), 127 when it is not found, 126 when it cannot be run.');
  out.push('.SH NOTES');
  out.push('Needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF. Data goes to standard output, diagnostics and the line starting with "Tracing" to standard error. Lost events are counted in the kernel and reported.');
  if (opts.extra) out.push(opts.extra);
  out.push('.SH SEE ALSO');
  out.push('.BR bpf\\-recipes (8)');
  return out.join('\n') + '\n';
}

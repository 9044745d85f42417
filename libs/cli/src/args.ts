/**
 * The command line of every tool, on Node's own util.parseArgs: the option table of a ToolSpec
 * is parsed (strictly: an unknown option or a missing value is a UsageError) and rendered as
 * --help. Node's parser costs nothing to load; the man page (man.ts) reads the same table.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { UsageError } from '@bpf-recipes/core';

export interface OptionSpec {
  /** the one-letter short form */
  alias?: string;
  /** a string option always takes a value; a boolean one never does */
  type: 'string' | 'boolean';
  /** repeatable: every value is kept, in order (otherwise the last one wins, as with getopt) */
  array?: boolean;
  /** the value's placeholder in --help and the man page (default VALUE) */
  arg?: string;
  describe: string;
  /** filled in by allOptions(): 'Options:' or 'Common options:' */
  group?: string;
}

/** What parsing a command line gives besides the options: a request for help or the version. */
export interface Parsed {
  args: Record<string, string | boolean | string[]>;
  help: boolean;
  version: boolean;
}

const BUILTIN: Record<string, OptionSpec> = {
  help: { alias: 'h', type: 'boolean', describe: 'show this help, with examples' },
  version: { alias: 'V', type: 'boolean', describe: 'show the version' },
};

function flagOf(token: string, table: Record<string, OptionSpec>): string | undefined {
  const m = /^(--?)([^=]+)/.exec(token);
  if (!m) return undefined;
  if (m[1] === '--') return m[2];
  return Object.entries(table).find(([, o]) => o.alias === m[2][0])?.[0];
}

/** Parse argv against an option table; every complaint is a UsageError naming the option. */
export function parseCommandLine(table: Record<string, OptionSpec>, argv: string[]): Parsed {
  const all = { ...table, ...BUILTIN };
  // --help and --version win over anything else on the line, as in most tools
  for (const a of argv) {
    if (a === '--') break;
    if (a === '--help' || a === '-h') return { args: {}, help: true, version: false };
    if (a === '--version' || a === '-V') return { args: {}, help: false, version: true };
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: boolean }> = {};
  for (const [name, o] of Object.entries(all)) options[name] = { type: o.type, multiple: true, ...(o.alias ? { short: o.alias } : {}) };
  let values: Record<string, unknown>;
  try {
    values = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(usageMessage(e as Error & { code?: string }, argv, all));
  }
  const args: Parsed['args'] = {};
  for (const [name, v] of Object.entries(values)) {
    const list = v as (string | boolean)[];
    args[name] = all[name]?.array ? (list as string[]) : list[list.length - 1];
  }
  return { args, help: false, version: false };
}

function usageMessage(e: Error & { code?: string }, argv: string[], all: Record<string, OptionSpec>): string {
  const quoted = /'(-[^' ,]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? e.message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${/'([^']*)'/.exec(e.message)?.[1] ?? ''}' (every value belongs to an option)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // the message names the option as '-p, --pid <value>' or '--json'
      const long = /--([\w-]+)/.exec(e.message)?.[1] ?? flagOf(quoted ?? '', all) ?? '';
      if (all[long]?.type === 'boolean') return `--${long} takes no value`;
      const at = argv.findIndex((a) => flagOf(a, all) === long);
      const next = at >= 0 ? argv[at + 1] : undefined;
      return next !== undefined && /^-\d/.test(next)
        ? `--${long} needs a value (a negative one is written --${long}=${next})`
        : `--${long} needs a value`;
    }
    default:
      return e.message;
  }
}

function flagText(name: string, o: OptionSpec): string {
  const short = o.alias ? `-${o.alias}, ` : '    ';
  return `${short}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
}

/** Words of `text` in lines of at most `width` columns (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.length ? lines : [''];
}

/** Two columns: the left one as wide as its widest entry (up to a limit), the right one wrapped. */
function columns(rows: [string, string][], width: number, left: number): string[] {
  const out: string[] = [];
  for (const [l, r] of rows) {
    const body = wrap(r, Math.max(30, width - 2 - left - 2));
    if (l.length > left) {
      out.push(`  ${l}`);
      for (const b of body) out.push(`  ${' '.repeat(left)}  ${b}`);
    } else {
      out.push(`  ${l.padEnd(left)}  ${body[0]}`);
      for (const b of body.slice(1)) out.push(`  ${' '.repeat(left)}  ${b}`);
    }
  }
  return out;
}

export interface HelpSpec {
  name: string;
  usage?: string;
  summary: string;
  examples: [string, string][];
  notes?: string;
}

/** --help: usage, summary, the option groups, examples and notes, wrapped to `width` columns. */
export function helpText(spec: HelpSpec, table: Record<string, OptionSpec>, width = 100): string {
  const out: string[] = [`${spec.name} ${spec.usage ?? '[options]'}`, '', ...wrap(spec.summary, width)];
  const groups = new Map<string, [string, string][]>();
  for (const [name, o] of Object.entries(table)) {
    const g = o.group ?? 'Options:';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push([flagText(name, o), o.describe]);
  }
  const own = groups.get('Options:') ?? [];
  for (const [name, o] of Object.entries(BUILTIN)) own.push([flagText(name, o), o.describe]);
  groups.set('Options:', own);
  // one left column for every option group, as wide as the widest flag (up to a limit)
  const left = Math.min(34, Math.max(...[...groups.values()].flat().map(([l]) => l.length)));
  for (const g of ['Options:', ...[...groups.keys()].filter((k) => k !== 'Options:')]) {
    out.push('', g, ...columns(groups.get(g)!, width, left));
  }
  if (spec.examples.length) {
    out.push('', 'Examples:', ...columns(spec.examples, width, Math.min(44, Math.max(...spec.examples.map(([c]) => c.length)))));
  }
  if (spec.notes) out.push('', ...wrap(spec.notes, width));
  return out.join('\n') + '\n';
}

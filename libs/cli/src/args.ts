/**
 * The command line of every tool, parsed by yargs: the option table of a ToolSpec becomes yargs
 * options (strict: an unknown option, a missing value or a stray word is a UsageError with our
 * one-line message) and is rendered as --help here, from the same table the man page (man.ts) reads.
 * yargs also answers shell completion (completeCommandLine). In the one-file launch build
 * (scripts/bundle.mjs) yargs is a file of its own with lean stand-ins for cliui, string-width, y18n
 * and assert, which only its own usage screen needs, loaded with a V8 code cache (libs/cli/README.md).
 */
import yargs from 'yargs/yargs';
import type { Argv, Options } from 'yargs';
import { UsageError } from '@bpf-recipes/core';
import { COMMAND_NOTE, COMMAND_USAGE } from './options.js';

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

/**
 * yargs as getopt_long does it: no camelCase copies, no dots or --no-X, values kept as the strings
 * given (the tools validate them), a repeated option collected (we keep the last unless it is
 * repeatable), short aliases stripped from the result.
 */
export const PARSER_CONFIGURATION = {
  'camel-case-expansion': false,
  'dot-notation': false,
  'boolean-negation': false,
  'duplicate-arguments-array': true,
  'flatten-duplicate-arrays': true,
  'greedy-arrays': false,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'short-option-groups': true,
  'strip-aliased': true,
  'populate--': false,
} as const;

/** A yargs instance for an option table (help and version are ours: see parseCommandLine). */
export function yargsFor(table: Record<string, OptionSpec>, argv: string[] = []): Argv {
  const options: Record<string, Options> = {};
  for (const [name, o] of Object.entries({ ...table, ...BUILTIN })) {
    options[name] = {
      type: o.type,
      describe: o.describe,
      ...(o.alias ? { alias: o.alias } : {}),
      ...(o.array ? { array: true } : {}),
      ...(o.type === 'string' ? { requiresArg: true } : {}),
    };
  }
  return yargs(argv)
    .help(false)
    .version(false)
    .exitProcess(false)
    .parserConfiguration(PARSER_CONFIGURATION)
    .options(options)
    .strict();
}

/** How yargs was loaded, for BPF_RECIPES_TIMING: with its V8 code cache (used, rejected by this Node), or not. */
export function yargsCodeCache(): string {
  const loaded = (process as unknown as Record<symbol, Map<string, { cache: string }> | undefined>)[Symbol.for('bpf-recipes.code-cache')];
  const y = [...(loaded ?? new Map<string, { cache: string }>())].find(([f]) => f.endsWith('yargs.cjs'));
  return y ? y[1].cache : 'none (ES modules)';
}

const isSwitchValue = (t: string | undefined) => t === 'true' || t === 'false';

/**
 * yargs reads `--json=yes` as false and eats a `true`/`false` after a switch as its value; a switch
 * takes no value here, so both are refused before yargs sees them. Returns the switch's long name.
 */
export function switchGivenValue(all: Record<string, OptionSpec>, argv: string[]): string | undefined {
  const byShort = new Map(Object.entries(all).filter(([, o]) => o.alias).map(([n, o]) => [o.alias!, n]));
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') break;
    const long = /^--([^=]+)(=?)/.exec(t);
    if (long) {
      const o = all[long[1]];
      if (o?.type === 'boolean' && (long[2] || isSwitchValue(argv[i + 1]))) return long[1];
      if (o?.type === 'string' && !long[2]) i++;
      continue;
    }
    if (!/^-[^-\d]/.test(t)) continue;
    for (let j = 1; j < t.length; j++) {
      const name = byShort.get(t[j]);
      if (!name) break;
      if (all[name].type === 'string') {
        if (j === t.length - 1) i++;
        break;
      }
      if (t[j + 1] === '=' || (j === t.length - 1 && isSwitchValue(argv[i + 1]))) return name;
    }
  }
  return undefined;
}

/**
 * getopt's short groups: in `-Tnbash` the rest after a short option that takes a value is that value.
 * yargs only does this for numbers (`-p42`); the group is handed to it as `-Tn=bash`, which it reads so.
 */
function shortValuesJoined(all: Record<string, OptionSpec>, argv: string[]): string[] {
  const byShort = new Map(Object.entries(all).filter(([, o]) => o.alias).map(([n, o]) => [o.alias!, n]));
  const end = argv.indexOf('--');
  return argv.map((t, i) => {
    if ((end >= 0 && i > end) || !/^-[^-\d]/.test(t)) return t;
    for (let j = 1; j < t.length - 1; j++) {
      const name = byShort.get(t[j]);
      if (!name) return t;
      if (all[name].type === 'string') return `${t.slice(0, j + 1)}=${t.slice(j + 1)}`;
    }
    return t;
  });
}

/** Parse argv against an option table; every complaint is a UsageError naming the option. */
export function parseCommandLine(table: Record<string, OptionSpec>, argv: string[]): Parsed {
  const all = { ...table, ...BUILTIN };
  // `TOOL [options] -- COMMAND [ARGS...]`: the words after the first `--` are a command to run
  const end = argv.indexOf('--');
  const command = end < 0 ? undefined : argv.slice(end + 1);
  if (end >= 0) argv = argv.slice(0, end);
  // --help and --version win over anything else on the line, as in most tools
  for (const a of argv) {
    if (a === '--') break;
    if (a === '--help' || a === '-h') return { args: {}, help: true, version: false };
    if (a === '--version' || a === '-V') return { args: {}, help: false, version: true };
  }
  const sw = switchGivenValue(all, argv);
  if (sw) throw new UsageError(`--${sw} takes no value`);
  argv = shortValuesJoined(all, argv);
  const out = yargsFor(table, argv)
    .fail((msg, err) => {
      throw new UsageError(usageMessage(msg ?? err?.message ?? 'invalid arguments', argv, all));
    })
    .parseSync() as Record<string, unknown> & { _: (string | number)[] };
  // words after `--` are not checked by yargs' strict mode
  if (out._.length) throw new UsageError(strayWord(String(out._[0])));
  if (out.help) return { args: {}, help: true, version: false };
  if (out.version) return { args: {}, help: false, version: true };
  const args: Parsed['args'] = {};
  for (const [name, v] of Object.entries(out)) {
    if (name === '_' || name === '$0' || name === 'help' || name === 'version' || v === undefined) continue;
    // a repeated single-value option: the last one wins, as with getopt
    args[name] = Array.isArray(v) && !all[name]?.array ? v[v.length - 1] : (v as string | boolean | string[]);
  }
  if (command !== undefined) args.command = command;
  return { args, help: false, version: false };
}

const strayWord = (w: string) => `unexpected argument '${w}' (every value belongs to an option)`;

/** yargs' messages, in ours: the first problem on the line, named as the user wrote it. */
function usageMessage(msg: string, argv: string[], all: Record<string, OptionSpec>): string {
  const longName = (k: string) => (k.length === 1 ? Object.entries(all).find(([, o]) => o.alias === k)?.[0] : undefined) ?? k;
  const missing = /^Not enough arguments following: (.+)$/.exec(msg);
  if (missing) return `--${longName(missing[1])} needs a value`;
  const unknown = /^Unknown arguments?: (.+)$/s.exec(msg);
  if (unknown) {
    const end = argv.indexOf('--') < 0 ? argv.length : argv.indexOf('--');
    const at = (k: string) => {
      const i = argv.findIndex(
        (t, n) =>
          n < end &&
          (t === k || t === `--${k}` || t.startsWith(`--${k}=`) || (k.length === 1 && /^-[^-]/.test(t) && t.slice(1).includes(k))),
      );
      return i < 0 ? Infinity : i;
    };
    const first = unknown[1].split(', ').sort((a, b) => at(a) - at(b))[0];
    const word = argv.slice(0, end).includes(first) && !/^--?[^-\d]/.test(first);
    if (word) return strayWord(first);
    return `unknown option ${first.length === 1 ? '-' : '--'}${first}`;
  }
  return msg;
}

/**
 * What the shell may complete after `words` (words[0] is the command, the last word is the one being
 * completed): yargs' own completion over the option table.
 */
export async function completeCommandLine(table: Record<string, OptionSpec>, words: string[]): Promise<string[]> {
  const list = await yargsFor(table).getCompletion(words.slice(1));
  return [...list];
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
  const runs = 'no-follow' in table; // every tool's: it runs a command
  const out: string[] = [`${spec.name} ${spec.usage ?? '[options]'}${runs ? ` ${COMMAND_USAGE}` : ''}`, '', ...wrap(spec.summary, width)];
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
  if (runs) out.push('', ...wrap(COMMAND_NOTE, width));
  return out.join('\n') + '\n';
}

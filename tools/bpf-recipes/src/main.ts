#!/usr/bin/env node
/**
 * bpf-recipes: list the tools, check this machine (doctor), print a shell completion script, or run
 * a tool: bpf-recipes opensnoop -T. The subcommands are parsed by yargs (strict, as the tools are);
 * a tool's own command line is passed to it as given and parsed there.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PARSER_CONFIGURATION, allOptions, completeCommandLine, fail, notReachedByTerminal, signalNumber, packageVersion, switchGivenValue, yargs } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';
import { table } from '@bpf-recipes/format';
import { doctor } from './doctor.js';
import { DEFAULT_LISTEN, exporter, type ExporterArgs } from './exporter.js';
import { TOOLS, toolBin, toolSpec } from './tools.js';

const version = packageVersion(import.meta.url);
const USAGE = `bpf-recipes COMMAND [ARGS]

Ready-made eBPF tracing tools.

Commands:
  list                     the tools, each with what it shows
  doctor [--json]          what this kernel and machine support, tried for real, and which tools work here
  exporter [--listen ADDR] [--tools a,b] [--config FILE] [--web-config FILE] [--allow-remote]
           [--keep-capabilities] [-v]
                           serve several tools' Prometheus metrics on one port (default
                           ${DEFAULT_LISTEN}; every tool with metrics that works here; docs/fleet.md)
  completion [bash|zsh]    a completion script for bpf-recipes and every tool (bash unless zsh is named):
                           source <(bpf-recipes completion)
  TOOL [ARGS]              run a tool (bpf-recipes opensnoop -T is opensnoop -T; bpf-recipes syscount -- dd ...
                           runs dd and counts its syscalls)
  help, -h, --help         this text
  -V, --version            the version

Tools: ${TOOLS.join(', ')}
`;

const EXPORTER_OPTIONS = {
  listen: { type: 'string', describe: `HOST:PORT to serve /metrics on (default ${DEFAULT_LISTEN}; :PORT is 127.0.0.1)` },
  tools: { type: 'string', describe: 'the tools to run, comma-separated (default: every tool with metrics that works here)' },
  config: { type: 'string', describe: 'a JSON file: { "listen": ..., "allowRemote": ..., "tools": { "<tool>": { options } } }' },
  'allow-remote': { type: 'boolean', describe: 'allow a --listen address other than loopback' },
  'web-config': { type: 'string', describe: "TLS, basic auth and headers from exporter-toolkit's web config file (YAML)" },
  'keep-capabilities': { type: 'boolean', describe: 'keep every capability after attach (by default none stays but what reading maps needs)' },
  verbose: { alias: 'v', type: 'boolean', describe: "libbpf's log and probe-selection details on stderr" },
} as const;

const UMBRELLA_SWITCHES = {
  json: { type: 'boolean', describe: 'doctor: as one JSON object' },
  'allow-remote': { type: 'boolean', describe: 'exporter: allow a non-loopback address' },
  'keep-capabilities': { type: 'boolean', describe: 'exporter: keep every capability after attach' },
  verbose: { alias: 'v', type: 'boolean', describe: 'exporter: libbpf details' },
  help: { alias: 'h', type: 'boolean', describe: 'this text' },
  version: { alias: 'V', type: 'boolean', describe: 'the version' },
} as const;

type Command = { cmd: 'usage' | 'version' | 'list' } | { cmd: 'doctor'; json: boolean } | { cmd: 'completion'; shell: 'bash' | 'zsh' } | { cmd: 'exporter'; args: ExporterArgs };

/** The umbrella's own command line (everything but a tool's), parsed by yargs. */
function umbrella(argv: string[]) {
  let chosen: Command = { cmd: 'usage' };
  const y = yargs(argv)
    .scriptName('bpf-recipes')
    .help(false)
    .version(false)
    .exitProcess(false)
    .parserConfiguration(PARSER_CONFIGURATION)
    .options({
      help: { alias: 'h', type: 'boolean', describe: 'this text' },
      version: { alias: 'V', type: 'boolean', describe: 'the version' },
    })
    .command('list', 'the tools, each with what it shows', {}, () => {
      chosen = { cmd: 'list' };
    })
    .command('doctor', 'what this machine supports and which tools work here', { json: { type: 'boolean', describe: 'as one JSON object' } }, (a) => {
      chosen = { cmd: 'doctor', json: Boolean(a.json) };
    })
    .command('exporter', "serve several tools' Prometheus metrics on one port", EXPORTER_OPTIONS, (a) => {
      chosen = { cmd: 'exporter', args: { listen: a.listen, tools: a.tools, config: a.config, 'allow-remote': a['allow-remote'], 'web-config': a['web-config'], 'keep-capabilities': a['keep-capabilities'], verbose: a.verbose } };
    })
    .command(
      'completion [shell]',
      'a completion script for bpf-recipes and every tool',
      { shell: { choices: ['bash', 'zsh'], type: 'string' } },
      (a) => {
        chosen = { cmd: 'completion', shell: a.shell === 'zsh' ? 'zsh' : 'bash' };
      },
    )
    .command('help', 'this text', {}, () => {
      chosen = { cmd: 'usage' };
    })
    .strict();
  return { y, chosen: () => chosen };
}

/** yargs' complaints about the umbrella's own command line, as one line naming the fix. */
function usageMessage(msg: string, argv: string[]): string {
  const unknown = /^Unknown arguments?: ([^,]+)/.exec(msg)?.[1];
  if (unknown !== undefined) {
    if (argv.includes(unknown) && argv[0] !== unknown) return `${argv[0]}: unexpected argument '${unknown}'`;
    if (argv.includes(unknown)) return `unknown command or tool '${unknown}' (bpf-recipes list shows the tools)`;
    return `unknown option ${unknown.length === 1 ? '-' : '--'}${unknown}`;
  }
  if (/^Invalid values:/.test(msg)) return `completion: give bash or zsh (got ${argv.slice(1).join(' ')})`;
  return msg.split('\n')[0];
}

/** yargs' completion script for bpf-recipes, with every tool bound to the same function. */
function completionScript(shell: 'bash' | 'zsh'): string {
  // yargs picks the template by the shell it sees in the environment
  process.env.SHELL = `/bin/${shell}`;
  delete process.env.ZSH_NAME;
  let script = '';
  yargs()
    .scriptName('bpf-recipes')
    .help(false)
    .version(false)
    .exitProcess(false)
    .completion('completion', false)
    .parse(['completion'], {}, (_e, _a, out) => {
      script = out;
    });
  const fn = '_bpf-recipes_yargs_completions';
  if (!script.includes(fn)) throw new Error(`yargs printed no completion function ${fn}`);
  const bind = shell === 'zsh' ? `compdef ${fn} ${TOOLS.join(' ')}` : `complete -o bashdefault -o default -F ${fn} ${TOOLS.join(' ')}`;
  return script.replace(/^###-end-bpf-recipes-completions-###$/m, (end) => `# every tool's options are completed by bpf-recipes too\n${bind}\n${end}`);
}

/**
 * The words the shell may complete (the completion script's function calls bpf-recipes
 * --get-yargs-completions WORDS...): for a tool's command line (opensnoop --ti, or bpf-recipes
 * opensnoop --ti) that tool's options, else the umbrella's commands and options.
 */
async function complete(words: string[]): Promise<string[]> {
  // a bare tool name is completed only where the shell would run ours: beside libbpf-tools,
  // /usr/sbin/opensnoop may be theirs, and our options would be wrong for it
  if (TOOLS.includes(words[0]) && !runsOurs(words[0])) return [];
  const tool = TOOLS.includes(words[0]) ? 0 : words.length > 2 && TOOLS.includes(words[1]) ? 1 : -1;
  if (tool >= 0) return completeCommandLine(allOptions(await toolSpec(words[tool])), words.slice(tool));
  const { y } = umbrella([]);
  for (const t of TOOLS) y.command(t, (await toolSpec(t)).summary);
  const sub = words[1];
  if (words.length > 2 && sub === 'doctor') return completeCommandLine({ json: { type: 'boolean', describe: 'as one JSON object' } }, words.slice(1));
  if (words.length === 3 && sub === 'completion') return ['bash', 'zsh'];
  if (words.length > 2 && (sub === 'list' || sub === 'help' || sub === 'completion')) return [];
  return [...(await y.getCompletion(words.slice(1)))];
}

/** Does the shell's PATH lookup of `tool` lead to our launcher of it? */
function runsOurs(tool: string): boolean {
  let ours: string;
  try {
    ours = realpathSync(toolBin(tool));
  } catch {
    return false;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      return realpathSync(join(dir, tool)) === ours;
    } catch {
      /* not in this directory */
    }
  }
  return false;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--get-yargs-completions') {
    const list = await complete(argv.slice(1));
    process.stdout.write(list.length ? `${list.join('\n')}\n` : '');
    return;
  }
  // a tool's command line is the tool's own: it parses it (with yargs) when it starts
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && TOOLS.includes(cmd)) return runTool(cmd, rest);
  const sw = switchGivenValue(UMBRELLA_SWITCHES, argv);
  if (sw) throw new UsageError(`--${sw} takes no value`);
  const u = umbrella(argv);
  const parsed = u.y
    .fail((msg, err) => {
      throw new UsageError(usageMessage(msg ?? err?.message ?? 'invalid arguments', argv));
    })
    .parseSync();
  const chosen: Command = parsed.help ? { cmd: 'usage' } : parsed.version ? { cmd: 'version' } : u.chosen();
  if (chosen.cmd === 'usage') {
    process.stdout.write(USAGE);
    return;
  }
  if (chosen.cmd === 'version') {
    process.stdout.write(`${version}\n`);
    return;
  }
  if (chosen.cmd === 'completion') {
    process.stdout.write(completionScript(chosen.shell));
    return;
  }
  if (chosen.cmd === 'exporter') return exporter(chosen.args);
  if (chosen.cmd === 'list') {
    const rows = [];
    for (const t of TOOLS) rows.push([t, (await toolSpec(t)).summary]);
    process.stdout.write(rows.map(([t, s]) => `${t.padEnd(18)} ${s}`).join('\n') + '\n');
    return;
  }
  if (chosen.cmd === 'doctor') {
    const r = doctor();
    if (chosen.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
    } else {
      const mark = (ok: boolean) => (ok ? 'yes' : 'NO');
      process.stdout.write('Machine\n' + table(['CHECK', 'OK', 'DETAIL'], r.machine.map((c) => [c.name, mark(c.ok), c.detail])) + '\n\n');
      process.stdout.write('BPF program types (loaded and attached for real)\n' + table(['TYPE', 'OK', 'DETAIL'], r.programTypes.map((c) => [c.name, mark(c.ok), c.detail])) + '\n\n');
      process.stdout.write('Perf events (opened for real; profile -e EVENT)\n' + table(['EVENT', 'OK', 'DETAIL'], r.perfEvents.map((c) => [c.name, mark(c.ok), c.detail])) + '\n\n');
      process.stdout.write('Tools\n' + table(['TOOL', 'WORKS', 'NEEDS', 'MISSING'], r.tools.map((t) => [t.tool, mark(t.ok), t.needs.join(','), t.missing.join(',') || '-'])) + '\n');
      const lacks = r.tools.flatMap((t) => t.lacks.map((l) => [t.tool, l.feature, l.instead]));
      process.stdout.write('\nWhat this kernel lacks, per tool\n' + (lacks.length ? table(['TOOL', 'LACKS', 'INSTEAD'], lacks) : 'nothing: every tool has every tracepoint it names') + '\n');
    }
  }
}

async function runTool(cmd: string, rest: string[]): Promise<void> {
  const child = spawn(toolBin(cmd), rest, { stdio: 'inherit' });
  // Ctrl-C at a terminal reaches the tool (of this process group) as it reaches us: passed on once
  // more, a tool running a command would take it for the second Ctrl-C, which detaches at once
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      for (const pid of notReachedByTerminal(sig, [child.pid!])) process.kill(pid, sig);
    });
  }
  const code = await new Promise<number>((res) => child.on('close', (c, s) => res(c ?? (s ? 128 + signalNumber(s) : 0))));
  process.exit(code);
}

main(process.argv.slice(2)).catch((e) => fail('bpf-recipes', e, false));

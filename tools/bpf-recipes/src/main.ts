#!/usr/bin/env node
/** bpf-recipes: list the tools, check this machine (doctor), or run a tool: bpf-recipes opensnoop -T. */
import { spawn } from 'node:child_process';
import { fail, packageVersion } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';
import { table } from '@bpf-recipes/format';
import { doctor } from './doctor.js';
import { TOOLS, toolBin, toolSpec } from './tools.js';

const version = packageVersion(import.meta.url);
const USAGE = `bpf-recipes COMMAND [ARGS]

Ready-made eBPF tracing tools.

Commands:
  list              the tools, each with what it shows
  doctor [--json]   what this kernel and machine support, tried for real, and which tools work here
  TOOL [ARGS]       run a tool (bpf-recipes opensnoop -T is opensnoop -T)
  help, -h, --help  this text
  -V, --version     the version

Tools: ${TOOLS.join(', ')}
`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '-h' || cmd === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  if (cmd === '-V' || cmd === '--version') {
    process.stdout.write(`${version}\n`);
    return;
  }
  if (cmd === 'list') {
    if (rest.length) throw new UsageError(`list takes no arguments (got ${rest.join(' ')})`);
    const rows = [];
    for (const t of TOOLS) rows.push([t, (await toolSpec(t)).summary]);
    process.stdout.write(rows.map(([t, s]) => `${t.padEnd(18)} ${s}`).join('\n') + '\n');
    return;
  }
  if (cmd === 'doctor') {
    const json = rest.includes('--json');
    const bad = rest.filter((r) => r !== '--json');
    if (bad.length) throw new UsageError(`doctor: unknown argument ${bad[0]} (doctor [--json])`);
    const r = doctor();
    if (json) {
      process.stdout.write(JSON.stringify(r) + '\n');
    } else {
      const mark = (ok: boolean) => (ok ? 'yes' : 'NO');
      process.stdout.write('Machine\n' + table(['CHECK', 'OK', 'DETAIL'], r.machine.map((c) => [c.name, mark(c.ok), c.detail])) + '\n\n');
      process.stdout.write('BPF program types (loaded and attached for real)\n' + table(['TYPE', 'OK', 'DETAIL'], r.programTypes.map((c) => [c.name, mark(c.ok), c.detail])) + '\n\n');
      process.stdout.write('Tools\n' + table(['TOOL', 'WORKS', 'NEEDS', 'MISSING'], r.tools.map((t) => [t.tool, mark(t.ok), t.needs.join(','), t.missing.join(',') || '-'])) + '\n');
      const lacks = r.tools.flatMap((t) => t.lacks.map((l) => [t.tool, l.feature, l.instead]));
      process.stdout.write('\nWhat this kernel lacks, per tool\n' + (lacks.length ? table(['TOOL', 'LACKS', 'INSTEAD'], lacks) : 'nothing: every tool has every tracepoint it names') + '\n');
    }
    return;
  }
  if (!TOOLS.includes(cmd)) throw new UsageError(`unknown command or tool '${cmd}' (bpf-recipes list shows the tools)`);
  const child = spawn(toolBin(cmd), rest, { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((res) => child.on('close', (c, s) => res(c ?? (s ? 1 : 0))));
  process.exit(code);
}

main(process.argv.slice(2)).catch((e) => fail('bpf-recipes', e, false));

/** The common options of every tool (DESIGN.md §4) and the parsers that turn them into kernel config. */
import type { OptionSpec } from './args.js';
import { UsageError } from '@bpf-recipes/core';
import type { FilterArgs } from '@bpf-recipes/runtime';

export type CommonOption = 'duration' | 'pid' | 'tid' | 'uid' | 'name' | 'cgroup' | 'timestamp' | 'json' | 'verbose' | 'buffer-size' | 'metrics' | 'metrics-allow-remote' | 'metrics-by' | 'metrics-top' | 'web-config' | 'keep-capabilities' | 'output' | 'no-follow' | 'user';

export const COMMON_OPTIONS: Record<CommonOption, OptionSpec> = {
  duration: { alias: 'd', type: 'string', arg: 'SEC', describe: 'stop after SEC seconds (fractions allowed), then print the summary' },
  pid: { alias: 'p', type: 'string', arg: 'PID[,PID...]', describe: 'only these processes (filtered in the kernel)' },
  tid: { alias: 't', type: 'string', arg: 'TID', describe: 'only this thread' },
  uid: { alias: 'u', type: 'string', arg: 'UID', describe: 'only this user' },
  name: { alias: 'n', type: 'string', arg: 'COMM', describe: 'only processes whose comm contains COMM' },
  cgroup: { alias: 'c', type: 'string', arg: 'PATH', describe: 'only tasks in this cgroup v2 (a directory, e.g. a container\'s)' },
  timestamp: { alias: 'T', type: 'boolean', describe: 'add a wall-clock TIME column' },
  json: { type: 'boolean', describe: 'NDJSON: one JSON object per line on stdout, nothing else' },
  verbose: { alias: 'v', type: 'boolean', describe: "libbpf's log and probe-selection details on stderr" },
  'buffer-size': { type: 'string', arg: 'SIZE', describe: 'ring buffer size, a power of two (e.g. 8M; default 4M)' },
  metrics: { type: 'string', arg: 'ADDR', describe: 'serve Prometheus metrics at http://ADDR/metrics while tracing (HOST:PORT; :PORT or PORT is 127.0.0.1)' },
  'metrics-allow-remote': { type: 'boolean', describe: 'let --metrics listen on an address other than loopback (other machines can then read the metrics)' },
  'metrics-by': { type: 'string', arg: 'BY', describe: 'with --metrics, BY comm, cgroup or container: a comm, cgroup path, or container_id and pod_uid label on the series for the top N, the rest "other" (syscount, opensnoop, killsnoop)' },
  'metrics-top': { type: 'string', arg: 'N', describe: 'with --metrics-by: how many comms, cgroups or containers keep their own label (default 20)' },
  'web-config': { type: 'string', arg: 'FILE', describe: "with --metrics: TLS, basic auth and headers from FILE, exporter-toolkit's web config (YAML; docs/fleet.md)" },
  'keep-capabilities': { type: 'boolean', describe: 'with --metrics: keep every capability after attach (by default only what the tool still needs stays)' },
  output: { alias: 'o', type: 'string', arg: 'FILE', describe: "write the output to FILE (kept apart from a traced command's own output)" },
  'no-follow': { type: 'boolean', describe: 'with -- COMMAND: trace the command\'s own process only, not the processes it starts' },
  user: { type: 'string', arg: 'USER', describe: "with -- COMMAND: run it as USER (name or uid; that user's uid, gid and groups)" },
};

/** The usage line's tail and the words on running a command, for --help and the man page. */
export const COMMAND_USAGE = '[-- COMMAND [ARGS...]]';
export const COMMAND_NOTE =
  'With -- COMMAND, the tool runs COMMAND (looked up in PATH) and traces it and every process it starts, from its execve on; ' +
  'the other filters still apply. It ends when the last of them has exited and exits with the command\'s status (128+N after signal N; ' +
  '127 when the command is not found, 126 when it cannot be run). SIGINT, SIGTERM and SIGHUP are passed on to the command\'s processes; ' +
  'a second one detaches at once. The command keeps the terminal; -o FILE keeps the tool\'s output apart from the command\'s.';

/** Options every tool has, whether its spec lists them or not: metrics, and running a command. */
export const EVERY_TOOL_OPTIONS: readonly CommonOption[] = ['metrics', 'metrics-allow-remote', 'metrics-by', 'metrics-top', 'web-config', 'keep-capabilities', 'output', 'no-follow', 'user'];

/**
 * --metrics ADDR: HOST:PORT, [IPv6]:PORT, :PORT or PORT. Without a host only the loopback
 * interface (127.0.0.1) listens; another interface only when it is named (0.0.0.0: all of them).
 */
export function parseMetricsAddress(v: unknown, opt = 'metrics'): { host: string; port: number } {
  const s = String(v).trim();
  const bad = () => new UsageError(`--${opt}: '${s}' is not HOST:PORT (e.g. 127.0.0.1:9469, :9469, or 0.0.0.0:9469 for every interface)`);
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(s);
  if (!m) throw bad();
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`--${opt}: port ${m[2]} is not between 1 and 65535`);
  let host = m[1] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  else if (host && (host.startsWith('-') || host.startsWith('.') || host.endsWith('-'))) throw bad();
  return { host: host || '127.0.0.1', port };
}

/** Only this machine can connect: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function parseDuration(v: unknown): number {
  const s = String(v).trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--duration: '${s}' is not a number of seconds (e.g. 5 or 0.5)`);
  return n;
}

/** The common options as the command line gives them (strings, unparsed). */
export interface CommonArgs extends FilterArgs {
  duration?: string;
  timestamp?: boolean;
  json?: boolean;
  verbose?: boolean;
  'buffer-size'?: string;
  metrics?: string;
  'metrics-allow-remote'?: boolean;
  'metrics-by'?: string;
  'metrics-top'?: string;
  'web-config'?: string;
  'keep-capabilities'?: boolean;
  /** -o FILE */
  output?: string;
  /** the words after `--`: a command to run and trace */
  command?: string[];
  'no-follow'?: boolean;
  user?: string;
}

/**
 * bpf-recipes exporter: one process serving several tools' Prometheus series on one port. Each tool
 * gets a Session of its own, opened by the open() of its typed metrics entry (`@bpf-recipes/<tool>/metrics`;
 * counting only: no event is sent to user space) and served by its register(), the function
 * `<tool> --metrics` calls.
 * Everything is checked before anything is bound (exit 2), the port is bound before anything is
 * loaded (exit 1 if taken), and a tool that fails to load stops the whole start (exit 1) with
 * every program loaded so far detached: nothing half-started.
 */
import { readFileSync } from 'node:fs';
import { dropAfterAttach, fail, isLoopback, loadMetrics, note, serveMetrics, parseMetricsAddress, parseMetricsBy, Session, sessionOptions, type CommonTraceOptions } from '@bpf-recipes/cli';
import { RecipesError, UsageError } from '@bpf-recipes/core';
import { doctor } from './doctor.js';
import type { MetricsSource } from './metrics-entries.js';
import { TOOLS, toolVersion } from './tools.js';

export const DEFAULT_LISTEN = '127.0.0.1:9469';
const NAME = 'bpf-recipes exporter';

export interface ExporterArgs {
  listen?: string;
  tools?: string;
  config?: string;
  'allow-remote'?: boolean;
  'web-config'?: string;
  'keep-capabilities'?: boolean;
  verbose?: boolean;
}

/** The config file (JSON): everything optional; the command line wins over it. */
interface ConfigFile {
  listen?: string;
  allowRemote?: boolean;
  /** exporter-toolkit's web config (TLS, basic auth, headers): --web-config */
  webConfig?: string;
  /** tool → its options: its metrics entry's options, and the common filters name, uid, cgroup */
  tools?: Record<string, Record<string, unknown>>;
}

const COMMON: Record<string, 'string' | 'number'> = { name: 'string', uid: 'number', cgroup: 'string' };

function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config: ${path} is not JSON: ${(e as Error).message.replace(/\s+/g, ' ')}`);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new UsageError(`--config: ${path}: expected an object with listen, allowRemote, tools`);
  const o = c as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['listen', 'allowRemote', 'webConfig', 'tools'].includes(k)) throw new UsageError(`--config: ${path}: unknown key '${k}' (listen, allowRemote, webConfig, tools)`);
  if (o.webConfig !== undefined && typeof o.webConfig !== 'string') throw new UsageError(`--config: ${path}: webConfig must be the path of a web config file (YAML)`);
  if (o.listen !== undefined && typeof o.listen !== 'string') throw new UsageError(`--config: ${path}: listen must be a string like "127.0.0.1:9469"`);
  if (o.allowRemote !== undefined && typeof o.allowRemote !== 'boolean') throw new UsageError(`--config: ${path}: allowRemote must be true or false`);
  if (o.tools !== undefined && (typeof o.tools !== 'object' || o.tools === null || Array.isArray(o.tools))) {
    throw new UsageError(`--config: ${path}: tools must be an object, tool name → its options ({} for none)`);
  }
  return o as ConfigFile;
}

/** The tools whose metrics entry takes metricsBy (their counters are keyed by comm or cgroup in the kernel). */
const metricsByTools = (all: Map<string, MetricsSource>): string[] => [...all].filter(([, m]) => 'metricsBy' in m.options).map(([t]) => t);

interface Planned { tool: string; source: MetricsSource; options: Record<string, unknown>; common: CommonTraceOptions }

function plan(all: Map<string, MetricsSource>, tool: string, given: Record<string, unknown> | undefined, where: string): Planned {
  if (!TOOLS.includes(tool)) throw new UsageError(`${where}: unknown tool '${tool}' (bpf-recipes list shows the tools)`);
  const source = all.get(tool);
  if (!source) {
    const have = [...all.keys()].join(', ');
    throw new UsageError(`${where}: ${tool} has no metrics of its own yet (tools with metrics: ${have})`);
  }
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) throw new UsageError(`${where}: ${tool}'s options must be an object`);
  const options: Record<string, unknown> = {};
  const common: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given ?? {})) {
    if ((k === 'metricsBy' || k === 'metricsTop') && !(k in source.options)) {
      throw new UsageError(`${where}: ${tool}.${k}: ${tool} has no series by comm or cgroup (tools that have: ${metricsByTools(all).join(', ')})`);
    }
    const type = source.options[k] ?? COMMON[k];
    if (!type) throw new UsageError(`${where}: ${tool} has no option '${k}' (it takes: ${[...Object.keys(source.options), ...Object.keys(COMMON)].join(', ')})`);
    if (typeof v !== type) throw new UsageError(`${where}: ${tool}.${k} must be a ${type}`);
    (k in source.options ? options : common)[k] = v;
  }
  // checked here, before anything is bound or loaded (open() applies them)
  parseMetricsBy(tool, options.metricsBy, options.metricsTop, { by: `${where}: ${tool}.metricsBy`, top: `${where}: ${tool}.metricsTop` }, { metricsBy: 'metricsBy' in source.options, tools: metricsByTools(all) });
  return { tool, source, options, common: common as CommonTraceOptions };
}

export async function exporter(a: ExporterArgs): Promise<void> {
  try {
    await start(a);
  } catch (e) {
    fail(NAME, e, Boolean(a.verbose));
  }
}

async function start(a: ExporterArgs): Promise<void> {
  const verbose = Boolean(a.verbose);
  // 1. everything the user gave, checked (usage errors, exit 2) before anything is bound or loaded
  const config = a.config === undefined ? {} : readConfig(a.config);
  const at = parseMetricsAddress(a.listen ?? config.listen ?? DEFAULT_LISTEN, 'listen');
  const allowRemote = Boolean(a['allow-remote'] || config.allowRemote);
  if (!isLoopback(at.host) && !allowRemote) {
    throw new UsageError(`--listen: ${at.host} is not a loopback address, so other machines could read the metrics: add --allow-remote ("allowRemote": true in the config) to mean it`);
  }
  // the tools with metrics, in TOOLS' order (their packages loaded now, not at every bpf-recipes start)
  const { METRICS } = await import('./metrics-entries.js');
  const all = new Map(TOOLS.filter((t) => METRICS[t]).map((t) => [t, METRICS[t]]));
  let planned: Planned[];
  if (a.tools !== undefined) {
    const names = a.tools.split(',').map((t) => t.trim()).filter(Boolean);
    if (!names.length) throw new UsageError('--tools: give at least one tool (e.g. --tools syscount,biosnoop)');
    planned = [...new Set(names)].map((t) => plan(all, t, config.tools?.[t], '--tools'));
  } else if (config.tools !== undefined) {
    planned = Object.keys(config.tools).map((t) => plan(all, t, config.tools![t], `--config ${a.config}`));
    if (!planned.length) throw new UsageError(`--config: ${a.config}: tools is empty (name at least one, or leave it out for every tool)`);
  } else {
    // every tool with metrics that this kernel supports, as bpf-recipes doctor finds
    const works = new Set(doctor().tools.filter((t) => t.ok).map((t) => t.tool));
    planned = [...all.keys()].filter((t) => works.has(t)).map((t) => plan(all, t, undefined, 'tools'));
    if (!planned.length) throw new RecipesError('no tool with metrics works on this kernel (bpf-recipes doctor says why)');
  }
  const sessionOpts = planned.map((p) => {
    try {
      return sessionOptions(p.tool, { ...p.common, verbose }, note);
    } catch (e) {
      throw e instanceof RecipesError ? new UsageError(`${p.tool}: ${e.message}`) : e;
    }
  });

  // 2. the web config (a bad one: exit 2), then the port, before any BPF program is loaded
  const m = await loadMetrics();
  const registry = new m.MetricsRegistry();
  const where = await serveMetrics(m, registry, at, { tool: NAME, webConfig: a['web-config'] || config.webConfig || undefined, listenOption: 'listen' });

  // 3. each tool on its own Session; the first failure detaches every one before it
  const sessions: Session[] = [];
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    registry.close();
    await Promise.all(sessions.map((s) => s.detach().catch(() => undefined)));
    for (const s of sessions) s.close();
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(0));
  process.on('uncaughtException', (e) => {
    registry.close();
    for (const s of sessions) s.close();
    fail(NAME, e, verbose);
  });
  for (const [i, p] of planned.entries()) {
    const session = new Session(sessionOpts[i]);
    sessions.push(session);
    try {
      const handles = p.source.open(session, p.options);
      p.source.register(registry.addTool({ tool: p.tool, version: toolVersion(p.tool), lost: () => (session.isClosed ? 0 : session.lost()) }), handles);
    } catch (e) {
      registry.close();
      for (const s of sessions) s.close();
      const err = e instanceof RecipesError ? e : new RecipesError((e as Error).message);
      err.message = `${p.tool}: ${err.message}`;
      return fail(NAME, err, verbose);
    }
  }
  // every program attached: keep only what reading the maps needs (--keep-capabilities: everything)
  if (!a['keep-capabilities']) dropAfterAttach([], (line) => (verbose ? note(`${NAME}: ${line}`) : undefined));
  // the readiness line of every tool ("Tracing" first)
  note(`Tracing for metrics: ${planned.map((p) => p.tool).join(', ')}, served at ${where}. Hit Ctrl-C to end.`);
}

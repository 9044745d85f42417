/**
 * @bpf-recipes/runtime: what a tool needs to trace, without its command line — the Session, the
 * typed API's event streams and aggregations, the uprobe helper, the syscall tools' hook choice,
 * the common filters with namespace and cgroup discovery, and the typed errors. The typed API of
 * every tool and the exporter stand on it; libs/cli (yargs, --help, man, runTool) stands on it too.
 */
export { Session, countingConfig, sessionOptions, sessionOptionsFromArgs, type Counting, type SessionOptions, type CommonTraceOptions } from './session.js';
export { eventStream, aggregation, traceEvents, type EventStream, type Aggregation, type CommandRun } from './stream.js';
export { setupUprobes, traceTool, type EventTool, type RecordOf, type TaskRecord } from './tool.js';
export { startTool, intervalOption, type AggregationTool } from './aggregation-tool.js';
export {
  TracedCommand, CommandError, commandOptions, resolveCommand, userIds, signalNumber, inForegroundGroup, notReachedByTerminal,
  type CommandArgs, type CommandExit, type CommandOptions,
} from './command.js';
export { attachUprobeCalls, attachUprobes, findUprobeFiles, type UprobeCall, type UprobeFile, type UprobeFunction, type UprobePlan } from './uprobes.js';
export { loadPreferringBtf } from './syscalls.js';
export { parseInterval, parseMinLatency, parseTimeNs } from './latency.js';
export {
  MAX_PIDS, commonConfig, commonFilters, parseIntArg, parsePids, parseSize, parseCgroup, parseMetricsBy,
  cgroup2Mount, cgroup2MountInfo, cgroup2Mounts, pidNamespace, inCgroupNamespace, kernelDev, INIT_PID_NS_INO, INIT_CGROUP_NS_INO,
  type FilterArgs,
} from './filters.js';
export { packageVersion } from './version.js';
export { Output, note } from './output.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';

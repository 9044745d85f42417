export { runTool, parseArgs, allOptions, fail, loadMetrics, serveMetrics, type ToolSpec, type ToolContext } from './tool.js';
export { runEventTool, type EventCommand, type TextOutput } from './event-tool.js';
export { runAggregationTool, type AggregationCommand, type AggregationRun, type ReportTime } from './aggregation-tool.js';
export { manPage } from './man.js';
export { loadToolSpec, specModule } from './spec-module.js';
export { parseCommandLine, completeCommandLine, switchGivenValue, yargsCodeCache, yargsFor, helpText, PARSER_CONFIGURATION, type OptionSpec, type HelpSpec, type Parsed } from './args.js';
export { Output, note } from '@bpf-recipes/runtime';
export {
  COMMON_OPTIONS, EVERY_TOOL_OPTIONS, COMMAND_USAGE, COMMAND_NOTE, parseDuration, parseMetricsAddress, isLoopback, type CommonArgs, type CommonOption,
} from './options.js';
// what the command shares with the typed API (@bpf-recipes/runtime), for the tools' commands
export {
  MAX_PIDS, packageVersion, commonConfig, commonFilters, parseCgroup, parseIntArg, parseMetricsBy, parsePids, parseSize, cgroup2Mount,
  cgroup2MountInfo, cgroup2Mounts, pidNamespace, inCgroupNamespace, kernelDev, INIT_PID_NS_INO, INIT_CGROUP_NS_INO,
  Session, countingConfig, sessionOptions, sessionOptionsFromArgs, eventStream, aggregation, traceEvents, traceTool, startTool, parseInterval, parseMinLatency, parseTimeNs, attachUprobeCalls, attachUprobes, findUprobeFiles, loadPreferringBtf,
  TracedCommand, CommandError, commandOptions, resolveCommand, userIds, signalNumber, inForegroundGroup, notReachedByTerminal,
  type Counting, type SessionOptions, type CommonTraceOptions, type EventStream, type EventTool, type AggregationTool, type Aggregation, type CommandRun, type UprobeCall, type UprobeFile, type UprobeFunction, type UprobePlan,
  type CommandExit, type CommandOptions,
} from '@bpf-recipes/runtime';
// the yargs factory itself, for commands with subcommands (the umbrella): one copy, in this package's bundle
export { default as yargs } from 'yargs/yargs';
export { splitPositionals } from './positionals.js';
export { KEEP_AFTER_ATTACH, dropAfterAttach } from './caps.js';

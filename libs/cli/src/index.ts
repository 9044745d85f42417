export { runTool, parseArgs, allOptions, fail, loadMetrics, serveMetrics, type ToolSpec, type ToolContext } from './tool.js';
export { manPage } from './man.js';
export { parseCommandLine, completeCommandLine, switchGivenValue, yargsCodeCache, yargsFor, helpText, PARSER_CONFIGURATION, type OptionSpec, type HelpSpec, type Parsed } from './args.js';
export { Output, note } from './output.js';
export {
  COMMON_OPTIONS, EVERY_TOOL_OPTIONS, MAX_PIDS, commonConfig, commonFilters, packageVersion, parseCgroup, parseDuration, parseIntArg, parseMetricsAddress, parseMetricsBy, METRICS_BY_TOOLS, isLoopback, parsePids, parseSize, cgroup2Mount,
  cgroup2MountInfo, cgroup2Mounts, pidNamespace, inCgroupNamespace, kernelDev, INIT_PID_NS_INO, INIT_CGROUP_NS_INO,
  type CommonArgs, type CommonOption,
} from './options.js';
export { Session, sessionOptions, sessionOptionsFromArgs, type SessionOptions, type CommonTraceOptions } from './session.js';
export { eventStream, aggregation, type EventStream, type Aggregation, type CommandRun } from './stream.js';
export { TracedCommand, CommandError, commandOptions, resolveCommand, userIds, signalNumber, inForegroundGroup, notReachedByTerminal, type CommandExit, type CommandOptions } from './command.js';
export { parseMinLatency, parseTimeNs } from './latency.js';
export { attachUprobeCalls, attachUprobes, findUprobeFiles, type UprobeCall, type UprobeFile, type UprobeFunction, type UprobePlan } from './uprobes.js';
// the yargs factory itself, for commands with subcommands (the umbrella): one copy, in this package's bundle
export { default as yargs } from 'yargs/yargs';
export { loadPreferringBtf } from './syscalls.js';
export { splitPositionals } from './positionals.js';
export { KEEP_AFTER_ATTACH, dropAfterAttach } from './caps.js';

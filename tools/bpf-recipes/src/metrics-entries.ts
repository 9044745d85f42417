/**
 * Every tool's metrics entry (`@bpf-recipes/<tool>/metrics`, the contract of libs/metrics/README.md),
 * typed. The exporter imports this module only when it starts: the bundle then loads each tool's
 * CommonJS build, which shares core and cli with the umbrella's.
 */
import type { Session } from '@bpf-recipes/cli';
import type { ToolMetrics } from '@bpf-recipes/metrics';
import { metrics as biosnoop } from '@bpf-recipes/biosnoop/metrics';
import { metrics as gethostlatency } from '@bpf-recipes/gethostlatency/metrics';
import { metrics as killsnoop } from '@bpf-recipes/killsnoop/metrics';
import { metrics as opensnoop } from '@bpf-recipes/opensnoop/metrics';
import { metrics as pythonExecHook } from '@bpf-recipes/python-exec-hook/metrics';
import { metrics as sslsnoop } from '@bpf-recipes/sslsnoop/metrics';
import { metrics as syscount } from '@bpf-recipes/syscount/metrics';
import { metrics as udplife } from '@bpf-recipes/udplife/metrics';

/** What the exporter runs of a tool: its metrics entry, the options checked at run time (they come from a config file). */
export type MetricsSource = ToolMetrics<Session, Record<string, unknown>, unknown>;

/** By tool name. */
export const METRICS: Readonly<Record<string, MetricsSource>> = {
  biosnoop, gethostlatency, killsnoop, opensnoop, 'python-exec-hook': pythonExecHook, sslsnoop, syscount, udplife,
};

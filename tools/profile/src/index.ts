/** @bpf-recipes/profile as a library: the command's sampling, typed (see README "The typed API"). */
export { start, setup, profileConfig, type ProfileOptions, type Snapshot, type SampledStack, type Sampler, type ProfileConfig } from './trace.js';
export type { Missed } from '@bpf-recipes/stacks';
export { DEFAULT_FREQUENCY, MAX_FREQUENCY, parseFrequency, parseCpuList, onlineCpus } from './cpus.js';
export { spec } from './spec.js';

/** @bpf-recipes/profile as a library: the command's sampling, typed (see README "The typed API"). */
export { start, setup, profileConfig, type ProfileOptions, type Snapshot, type Sampler, type SampledStack, type Missed, type ProfileConfig } from './trace.js';
export { DEFAULT_FREQUENCY, MAX_FREQUENCY, parseFrequency, parseCpuList, onlineCpus } from './cpus.js';
export { spec } from './spec.js';

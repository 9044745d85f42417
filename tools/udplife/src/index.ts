/** @bpf-recipes/udplife as a library: the same tracing the udplife command runs. */
export { trace, toRecord, SOURCES, type UdplifeOptions, type UdplifeRecord, type Source } from './tool.js';
export { UDPLIFE_MAX_PEERS, type Event } from './generated/udplife.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';

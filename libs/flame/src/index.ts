export { type FlameFrame, type FlameStack, type FlameNode, type ProfileMeta, totalCount, callTree } from './stacks.js';
export { toSpeedscope, SPEEDSCOPE_SCHEMA, type SpeedscopeFile } from './speedscope.js';
export { toPprof } from './pprof.js';
export { toSvg, xmlEscape, type SvgOptions } from './svg.js';

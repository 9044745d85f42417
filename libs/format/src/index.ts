export { Columns, type Column } from './columns.js';
export { table } from './table.js';
export { log2Hist, slotLabel, slotOf } from './hist.js';
export { Clock, isoTime, clockTime, intervalHeader } from './time.js';
export { signalName, signalNumber, SIGRTMIN, SIGRTMAX } from './signals.js';
export { errnoName, errnoNumber, errnoMessage } from '@bpf-recipes/core';
export { tableText, blockText, jsonText, jsonFields, jsonListFields } from './text.js';
export { addrText, AF_INET, AF_INET6 } from './addr.js';
export { usFromNs } from './units.js';

// Stands in for node:assert inside yargs in the one-file builds (scripts/bundle.mjs): yargs checks a
// few internal invariants with assert.strictEqual/notStrictEqual, and loading node:assert (with its
// AssertionError and call tracker) costs every start. Same checks, a plain Error.
'use strict';
module.exports = {
  strictEqual(actual, expected, message) {
    if (actual !== expected) throw new Error(message || `expected ${String(expected)}, got ${String(actual)}`);
  },
  notStrictEqual(actual, expected, message) {
    if (actual === expected) throw new Error(message || `did not expect ${String(actual)}`);
  },
};

// require() for a bundled file, with V8's code cache beside it (FILE.<arch>.cache, written at build time by
// scripts/bundle.mjs after a run of the code). With the cache V8 neither compiles the source nor,
// for the functions that run at every start, their bodies on first call: yargs is ~100 KB of code
// run once per process, so this halves its cost. A cache made by another Node (or other V8 flags)
// is rejected by V8 and the file is compiled as usual. The cache is the build machine's CPU's: V8 does
// not reject one made on another architecture (an x64 cache crashed Node on arm64), so each CPU
// looks for its own (the packages ship the build machine's; another CPU compiles).
'use strict';
const { readFileSync } = require('node:fs');
const { wrap } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

/** file -> its Script and whether the cache was used: for the build step that writes the cache and
 *  for BPF_RECIPES_TIMING; shared by every copy of this loader in the process */
const scripts = (process[Symbol.for('bpf-recipes.code-cache')] ??= new Map());

function requireCached(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.${process.arch}.cache`);
  } catch {
    /* no cache: compile as require() would */
  }
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  scripts.set(file, { script, cache: cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used' });
  const m = { exports: {}, id: file, filename: file, loaded: false };
  script.runInThisContext()(m.exports, require, m, file, dirname(file));
  m.loaded = true;
  return m.exports;
}
module.exports = { requireCached, scripts };

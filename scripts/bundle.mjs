#!/usr/bin/env node
// The launch path of every package: one CommonJS file per package, built with esbuild from its
// TypeScript sources after tsc. Run from the package's directory.
//   library (libs/core, format, cli): each entry of "exports" → dist/<entry>.cjs (the "require" condition)
//   tool (a package with "bin"):        src/main.ts → dist/src/main.cjs (what bin/<tool>.js loads), and
//                                      and each "exports" entry's "require" file (a tool's ./metrics, the exporter's typed entry)
// Other @bpf-recipes packages and koffi stay external: each library remains a dependency package that
// every tool shares. Why: a command loads a handful of files instead of ~40 ES modules through the
// ESM loader (see bench/README.md for what it saves). The ES modules tsc writes
// in dist/ stay for everything that imports the packages (the umbrella, tests).
import { build } from 'esbuild';
import { licenceCheck } from './licence.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// yargs (libs/cli) is bundled with lean stand-ins for the packages it loads at start but that only its
// own usage screen needs (cliui, string-width), that read files a bundle has not got (y18n's locale
// files) or that cost a load for two invariant checks (node:assert): see scripts/vendor-shims/.
// Parsing, validation and completion are yargs' own code.
const shims = join(dirname(fileURLToPath(import.meta.url)), 'vendor-shims');
const inYargs = (p) => /[\\/]node_modules[\\/]yargs[\\/]/.test(p);
const shimPlugin = {
  name: 'recipes-shims',
  setup(b) {
    b.onResolve({ filter: /^(cliui|string-width|y18n)$/ }, (a) => ({ path: join(shims, `${a.path}.cjs`) }));
    // yargs' own invariant checks: a plain Error instead of loading node:assert
    b.onResolve({ filter: /^assert$/ }, (a) => (inYargs(a.importer) ? { path: join(shims, 'assert.cjs') } : undefined));
    // yargs reads process.stdout.columns when it is loaded, which opens stdout as a stream (a dozen
    // modules); only its usage screen needs the width, so it is read when asked for
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]build[\\/]index\.cjs$/ }, (a) => {
      const eager = 'stdColumns:void 0!==process.stdout.columns?process.stdout.columns:null';
      const src = readFileSync(a.path, 'utf8');
      if (!src.includes(eager)) return { errors: [{ text: `yargs changed: "${eager}" not found in ${a.path} (update scripts/bundle.mjs)` }] };
      // the factory turns on yargs' own --help and --version (and reads package.json for the
      // version); every command here turns both off again and prints its own
      const defaults = 'i.help(),i.version(),i})';
      if (!src.includes(defaults)) return { errors: [{ text: `yargs changed: "${defaults}" not found in ${a.path} (update scripts/bundle.mjs)` }] };
      return { contents: src.replace(eager, `get ${eager.replace(':', '(){return ')}}`).replace(defaults, 'i})'), loader: 'js' };
    });
  },
};

// Our libraries are found without Node's package "exports" resolution: that path loads Node's ESM
// resolver (a dozen internal modules) and converts paths to URLs and back, ~30 % of our module
// load time at every start (a --cpu-prof of opensnoop's start). They stay external to esbuild, and
// each `require("@bpf-recipes/cli")` it writes becomes, in the output (finish() below),
// `__recipesLib("@bpf-recipes/cli", "@bpf-recipes/cli", "dist/index.cjs")`: the file its "exports"
// names for require, looked up in the node_modules directories above this file as Node would look
// (nearest first) and loaded by its absolute path; plain require() when it is not there (NODE_PATH,
// other layouts).
const libRequire =
  'const __recipesLib = (spec, pkg, file) => { const fs = require("node:fs"), path = require("node:path"); ' +
  'for (let d = __dirname; ; d = path.dirname(d)) { const p = path.join(d, "node_modules", pkg, file); if (fs.existsSync(p)) return require(p); ' +
  'if (path.dirname(d) === d) return require(spec); } };';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `@bpf-recipes/core/decode` -> ['@bpf-recipes/core', 'dist/decode.cjs'], from the package's "exports" (undefined: no CommonJS build) */
function libFile(spec) {
  const [scope, name, sub] = spec.split('/');
  const file = [join(process.cwd(), 'node_modules', scope, name, 'package.json'), join(root, 'node_modules', scope, name, 'package.json')].find((f) => existsSync(f));
  if (!file) return undefined;
  const e = JSON.parse(readFileSync(file, 'utf8')).exports?.[sub ? `./${sub}` : '.'];
  return typeof e === 'object' && e.require ? [`${scope}/${name}`, e.require.replace(/^\.\//, '')] : undefined;
}

// esbuild's CommonJS exports object copies the module's one with a getter per name that reads
// `from[key]`: a megamorphic keyed load at every use of a library function from another package
// (12 % of opensnoop's CPU under an open storm, perf). The module's own exports object (a getter per
// name returning its binding: live bindings kept) is exported instead.
const TO_COMMONJS = '__toCommonJS=mod=>__copyProps(__defProp({},"__esModule",{value:!0}),mod)';
const TO_COMMONJS_DIRECT = '__toCommonJS=mod=>__defProp(mod,"__esModule",{value:!0})';

/** Rewrite a written bundle: the libraries' requires (above) and the exports helper. */
function finish(outfile) {
  let src = readFileSync(outfile, 'utf8');
  src = src.replace(/\brequire\("(@bpf-recipes\/[^"]+)"\)/g, (m, spec) => {
    const lib = libFile(spec);
    return lib ? `__recipesLib(${JSON.stringify(spec)},${JSON.stringify(lib[0])},${JSON.stringify(lib[1])})` : m;
  });
  if (src.includes('__toCommonJS(')) {
    if (!src.includes(TO_COMMONJS)) throw new Error(`esbuild changed: "${TO_COMMONJS}" not found in ${outfile} (update scripts/bundle.mjs)`);
    src = src.replace(TO_COMMONJS, TO_COMMONJS_DIRECT);
  }
  writeFileSync(outfile, src);
}

/** ESM sources in a CommonJS file: import.meta.url becomes the file's own URL. */
const cjs = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  // prom-client (Apache-2.0, with @opentelemetry/api) stays a package of its own: never copied into
  // our GPL-2.0-only files (see licenceCheck below); so do libs/metrics' yaml (ISC) and bcryptjs
  // (BSD-3-Clause), each a dependency of that package, loaded only with --metrics --web-config
  external: ['@bpf-recipes/*', 'koffi', 'prom-client', 'yaml', 'bcryptjs'],
  metafile: true,
  define: { 'import.meta.url': '__recipesModuleUrl' },
  banner: { js: "const __recipesModuleUrl = require('node:url').pathToFileURL(__filename).href;\n" + libRequire },
  plugins: [shimPlugin],
  // less source for V8 to read at every start; identifiers stay, for readable stacks and profiles
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'inline',
  logLevel: 'warning',
};

// libs/cli: yargs goes to a file of its own, dist/yargs.cjs, loaded with V8's code cache
// (dist/yargs.cjs.<arch>.cache, made here by a run of the parser under the launchers' flags): see
// scripts/vendor-shims/code-cache.cjs. The ES module build imports yargs from node_modules as usual.
const yargsViaCache = {
  name: 'recipes-yargs-code-cache',
  setup(b) {
    b.onResolve({ filter: /^yargs\/yargs$/ }, () => ({ path: 'yargs', namespace: 'recipes-yargs' }));
    b.onLoad({ filter: /.*/, namespace: 'recipes-yargs' }, () => ({
      contents: `module.exports = require(${JSON.stringify(join(shims, 'code-cache.cjs'))}).requireCached(require('node:path').join(__dirname, 'yargs.cjs'));`,
      resolveDir: shims,
      loader: 'js',
    }));
  },
};

async function bundleYargs() {
  const r = await build({
    ...cjs,
    stdin: { contents: "module.exports = require('yargs/yargs');", resolveDir: process.cwd(), loader: 'js' },
    outfile: 'dist/yargs.cjs',
    define: {},
    banner: {},
  });
  licenceCheck(r, 'dist/yargs.cjs');
  // the cache holds what V8 compiled during this run: loading yargs and parsing a tool's command line
  // (good and bad), under the flags of the launchers (V8 rejects a cache made under other flags)
  const run = `
    const cli = require('./dist/index.cjs');
    const table = { ...cli.COMMON_OPTIONS, 'own-flag': { alias: 'F', type: 'string', array: true, describe: 'x' } };
    cli.parseCommandLine(table, ['-p', '1,2', '-T', '--json', '-F', 'a', '-Fb', '--duration=1', '-n', 'x']);
    try { cli.parseCommandLine(table, ['--no-such-option']); } catch {}
    const { script } = process[Symbol.for('bpf-recipes.code-cache')].get(require('node:path').resolve('dist/yargs.cjs'));
    require('node:fs').writeFileSync('dist/yargs.cjs.' + process.arch + '.cache', script.createCachedData());`;
  execFileSync(process.execPath, ['--max-semi-space-size=2', '-e', run], { stdio: 'inherit' });
}

async function main() {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  if (pkg.name === '@bpf-recipes/cli') {
    licenceCheck(await build({ ...cjs, plugins: [...cjs.plugins, yargsViaCache], entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs' }), 'dist/index.cjs');
    finish('dist/index.cjs');
    await bundleYargs();
    return;
  }
  const entries = pkg.bin
    ? [
        ['src/main.ts', 'dist/src/main.cjs'],
        // every "exports" entry with a "require" condition (a tool's `./metrics`, libs/metrics/README.md, which
        // the exporter imports): the same CommonJS copies of core and cli as the umbrella's
        ...Object.values(pkg.exports ?? {}).flatMap((e) => (typeof e === 'object' && e.require ? [[e.require.replace(/^\.\/dist\//, '').replace(/\.cjs$/, '.ts'), e.require.replace(/^\.\//, '')]] : [])),
      ]
    : Object.values(pkg.exports ?? {}).map((e) => {
        const cjsPath = typeof e === 'string' ? undefined : e.require;
        if (!cjsPath) throw new Error(`bundle: ${pkg.name}: every "exports" entry needs a "require" condition`);
        return [cjsPath.replace(/^\.\/dist\//, 'src/').replace(/\.cjs$/, '.ts'), cjsPath];
      });
  for (const [entry, outfile] of entries) {
    licenceCheck(await build({ ...cjs, entryPoints: [entry], outfile }), outfile);
    finish(outfile);
  }
}

// esbuild has already printed what failed, with its place in the source
await main().catch((e) => {
  if (!e?.errors) console.error(`bundle: ${e?.message ?? e}`);
  process.exit(1);
});

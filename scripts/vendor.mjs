#!/usr/bin/env node
// Bundle a library's src/vendor/*.ts entry points (each re-exports a third-party package) into
// single files over tsc's output in dist/vendor/, so that a tool loads one file per dependency
// instead of resolving its whole tree at startup. Run from the library's directory after tsc.
import { build } from 'esbuild';
import { licenceCheck } from './licence.mjs';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(process.cwd(), 'src', 'vendor');
for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
  const result = await build({
    metafile: true,
    entryPoints: [join(dir, f)],
    outfile: join(process.cwd(), 'dist', 'vendor', f.replace(/\.ts$/, '.js')),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    minify: true,
    legalComments: 'inline',
    // CommonJS inside an ES module bundle still calls require() for node built-ins
    banner: { js: "import { createRequire as __recipesRequire } from 'node:module'; const require = __recipesRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  licenceCheck(result, `dist/vendor/${f.replace(/\.ts$/, '.js')}`);
}

// What an esbuild bundle copies from node_modules becomes part of one of our GPL-2.0-only files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a bundle copies from node_modules becomes part of a GPL-2.0-only file: only code under a
 * licence that GPL-2.0 can absorb may go in. Anything else (Apache-2.0 is not GPL-2.0-compatible)
 * must stay external, a dependency package installed beside ours.
 */
const COMPATIBLE = /^\(?(MIT|ISC|BSD-2-Clause|BSD-3-Clause|0BSD|Unlicense|CC0-1\.0|GPL-2\.0(-only|-or-later|\+)?|LGPL-2\.1(-or-later|\+)?)(\s+OR\s+.*)?\)?$/;
/** The first package a bundle would copy in under a licence GPL-2.0 cannot absorb, or undefined. */
export function incompatiblePackage(result) {
  const seen = new Set();
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const m = /^((?:.*[\\/])?node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input);
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(m[1], 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!COMPATIBLE.test(String(pkg.license ?? ''))) return { name: pkg.name, license: pkg.license ?? 'no licence' };
  }
  return undefined;
}

export function licenceCheck(result, outfile) {
  const bad = incompatiblePackage(result);
  if (bad) {
    console.error(`bundle: ${outfile} would copy in ${bad.name} (${bad.license}), not GPL-2.0-compatible: add it to the externals in scripts/bundle.mjs and make it a dependency`);
    process.exit(1);
  }
}

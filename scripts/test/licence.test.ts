// Our packages are GPL-2.0-only: a bundle (scripts/bundle.mjs, scripts/vendor.mjs) may copy in only
// code GPL-2.0 can absorb. prom-client (Apache-2.0) must stay a package of its own.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@bpf-recipes/testing';
// @ts-expect-error a plain .mjs script
import { incompatiblePackage } from '../licence.mjs';

const bundleOf = (mod: string) =>
  build({ stdin: { contents: `module.exports = require('${mod}');`, resolveDir: repoRoot }, bundle: true, platform: 'node', write: false, metafile: true, logLevel: 'silent' });

describe('licences of what the bundles copy in', () => {
  it('prom-client (Apache-2.0) is refused; yargs (MIT) and date-fns (MIT) are not', async () => {
    expect(incompatiblePackage(await bundleOf('prom-client'))).toEqual({ name: 'prom-client', license: 'Apache-2.0' });
    expect(incompatiblePackage(await bundleOf('yargs/yargs'))).toBeUndefined();
    expect(incompatiblePackage(await bundleOf('date-fns'))).toBeUndefined();
  });

  it('the shipped @bpf-recipes/metrics loads prom-client, yaml and bcryptjs from their own packages, and declares them', () => {
    const built = readFileSync(join(repoRoot, 'libs', 'metrics', 'dist', 'index.cjs'), 'utf8');
    expect(built).toContain('require("prom-client")');
    expect(built).not.toMatch(/collectDefaultMetrics\s*=\s*function|class Registry/);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'libs', 'metrics', 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['bcryptjs', 'prom-client', 'yaml']);
    // the web config's YAML parser and bcrypt stay packages of their own too
    expect(built).toMatch(/\("yaml"\)/);
    expect(built).toMatch(/\("bcryptjs"\)/);
    expect(built).not.toMatch(/class YAMLMap|function genSaltSync/);
  });
});

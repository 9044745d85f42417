/** The tools this umbrella ships, found as the dependency packages they are. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadToolSpec, type ToolSpec } from '@bpf-recipes/cli';

const require = createRequire(import.meta.url);

/** this package's package.json, from src/ (tests) or dist/src/ alike */
function ownPackage(): { dependencies: Record<string, string> } {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}
const own = ownPackage();

export const TOOLS = Object.keys(own.dependencies)
  .filter((d) => d.startsWith('@bpf-recipes/') && !['@bpf-recipes/cli', '@bpf-recipes/core', '@bpf-recipes/format', '@bpf-recipes/metrics', '@bpf-recipes/runtime'].includes(d))
  .map((d) => d.slice('@bpf-recipes/'.length));

export function toolDir(tool: string): string {
  return dirname(require.resolve(`@bpf-recipes/${tool}/package.json`));
}

export function toolBin(tool: string): string {
  const pkg = JSON.parse(readFileSync(join(toolDir(tool), 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(toolDir(tool), pkg.bin[tool]);
}

/** A tool's option table (its descriptor's, libs/cli's loadToolSpec). */
export const toolSpec = (tool: string): Promise<ToolSpec> => loadToolSpec(join(toolDir(tool), 'dist', 'src'));

export function toolObject(tool: string): string {
  return join(toolDir(tool), 'dist', 'bpf', `${tool}.bpf.o`);
}

export function toolVersion(tool: string): string {
  return (JSON.parse(readFileSync(join(toolDir(tool), 'package.json'), 'utf8')) as { version: string }).version;
}

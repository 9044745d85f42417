/** The tools this umbrella ships, found as the dependency packages they are. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ToolSpec } from '@bpf-recipes/cli';

const require = createRequire(import.meta.url);
const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };

export const TOOLS = Object.keys(own.dependencies)
  .filter((d) => d.startsWith('@bpf-recipes/') && !['@bpf-recipes/cli', '@bpf-recipes/core', '@bpf-recipes/format'].includes(d))
  .map((d) => d.slice('@bpf-recipes/'.length));

export function toolDir(tool: string): string {
  return dirname(require.resolve(`@bpf-recipes/${tool}/package.json`));
}

export function toolBin(tool: string): string {
  const pkg = JSON.parse(readFileSync(join(toolDir(tool), 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(toolDir(tool), pkg.bin[tool]);
}

export async function toolSpec(tool: string): Promise<ToolSpec> {
  return ((await import(join(toolDir(tool), 'dist', 'src', 'spec.js'))) as { spec: ToolSpec }).spec;
}

export function toolObject(tool: string): string {
  return join(toolDir(tool), 'dist', 'bpf', `${tool}.bpf.o`);
}

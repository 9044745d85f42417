/**
 * Where a built tool's option table is (what --help, the man page and completion read): the module
 * of its dist/src that exports `spec` — its descriptor, tool.js, or, for a tool not declared in one
 * file yet, spec.js. The one rule pack, package:deb and the umbrella follow. No other import: the
 * build scripts load this file alone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolSpec } from './tool.js';

/** The modules that may hold a tool's `spec`, the first that exists wins. */
const SPEC_MODULES = ['tool.js', 'spec.js'] as const;

/** The file of dist/src (e.g. 'tool.js') that holds the spec; `has(name)` says whether dist/src holds a file. */
export function specModule(has: (file: string) => boolean): string {
  return SPEC_MODULES.find(has) ?? SPEC_MODULES[0];
}

/** A built tool's option table, from its dist/src directory. */
export async function loadToolSpec(distSrc: string): Promise<ToolSpec> {
  const file = join(distSrc, specModule((f) => existsSync(join(distSrc, f))));
  return ((await import(pathToFileURL(file).href)) as { spec: ToolSpec }).spec;
}

// Unit: the typed API of every tool (`import { trace } from '@bpf-recipes/<tool>'`) stands on
// @bpf-recipes/runtime alone: its built module graph (static and literal dynamic imports of the
// ES modules tsc wrote) reaches neither yargs, cliui nor libs/cli (parser, --help, man, runTool).
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FORBIDDEN = /^(yargs|cliui|yargs-parser|@bpf-recipes\/cli)(\/|$)/;

/** A package's directory and the file an "exports" subpath points at (the "import" condition). */
function packageEntry(spec: string): string {
  const m = /^(@bpf-recipes\/[^/]+)(\/.+)?$/.exec(spec)!;
  const dir = join(root, 'node_modules', m[1]);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, { import: string }> };
  const entry = pkg.exports[m[2] ? `.${m[2]}` : '.'];
  if (!entry) throw new Error(`${spec}: not exported`);
  return realpathSync(resolve(dir, entry.import));
}

/** Every module reached from `entry`, and the third-party packages (by specifier) it imports. */
function walk(entry: string): { files: string[]; external: Map<string, string> } {
  const seen = new Set<string>();
  const external = new Map<string, string>(); // specifier -> the file importing it
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: s } of info.importedFiles) {
      if (s.startsWith('node:')) continue;
      if (s.startsWith('.')) todo.push(resolve(dirname(file), s));
      else if (s.startsWith('@bpf-recipes/') && !FORBIDDEN.test(s)) todo.push(packageEntry(s));
      else if (!external.has(s)) external.set(s, file);
    }
  }
  return { files: [...seen], external };
}

const forbiddenIn = (g: ReturnType<typeof walk>) => [
  ...[...g.external].filter(([s]) => FORBIDDEN.test(s)).map(([s, from]) => `${s} (from ${from.slice(root.length + 1)})`),
  ...g.files.filter((f) => f.includes('/libs/cli/')).map((f) => f.slice(root.length + 1)),
];

const tools = readdirSync(join(root, 'tools')).filter((t) => {
  const p = join(root, 'tools', t, 'package.json');
  return existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { exports?: Record<string, unknown> }).exports?.['.'] !== undefined;
});

describe('the typed API has no command line in its import graph', () => {
  it('finds the tools that export an API', () => {
    expect(tools).toEqual(expect.arrayContaining(['opensnoop', 'syscount', 'gethostlatency', 'stackcount', 'syslatency']));
  });

  it.each(tools)('@bpf-recipes/%s reaches no yargs, cliui or libs/cli', (tool) => {
    const g = walk(packageEntry(`@bpf-recipes/${tool}`));
    expect(g.files.some((f) => f.includes('/libs/runtime/dist/'))).toBe(true);
    expect(forbiddenIn(g)).toEqual([]);
  });

  // nor do the exporter's typed entries (`@bpf-recipes/<tool>/metrics`)
  const withMetrics = tools.filter((t) => (JSON.parse(readFileSync(join(root, 'tools', t, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports['./metrics'] !== undefined);
  it.each(withMetrics)('@bpf-recipes/%s/metrics reaches no yargs, cliui or libs/cli', (tool) => {
    const g = walk(packageEntry(`@bpf-recipes/${tool}/metrics`));
    expect(g.files.some((f) => f.includes(`/tools/${tool}/dist/src/`))).toBe(true);
    expect(forbiddenIn(g)).toEqual([]);
  });

  it('the same walk does find them from a command (the check can fail)', () => {
    const g = walk(join(root, 'tools', 'opensnoop', 'dist', 'src', 'main.js'));
    expect(forbiddenIn(g)).toContain('@bpf-recipes/cli (from tools/opensnoop/dist/src/main.js)');
  });
});

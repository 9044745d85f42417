// Man pages and --help come from the same option table: every option of every tool must appear in
// both with the same description.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { allOptions, manPage } from '@bpf-recipes/cli';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS, toolBin, toolDir, toolSpec } from '../src/tools.js';

const roffText = (s: string) => s.replace(/\\-/g, '-').replace(/\\f[BIR]/g, '').replace(/\\e/g, '\\').replace(/\\&/g, '');

describe.each(TOOLS)('%s: man page and --help agree', (tool) => {
  it('every option, with its description, in both', async () => {
    const spec = await toolSpec(tool);
    const man = roffText(manPage(spec));
    const help = execFileSync(toolBin(tool), ['--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '400' } }).replace(/\s+/g, ' ');
    expect(man).toMatch(new RegExp(`^\\.TH ${tool.toUpperCase()} 8 `, 'm'));
    for (const [name, o] of Object.entries(allOptions(spec))) {
      expect(man, `--${name} in the man page`).toContain(`--${name}`);
      expect(man, `description of --${name}`).toContain(String(o.describe));
      expect(help, `--${name} in --help`).toContain(`--${name}`);
      expect(help, `description of --${name} in --help`).toContain(String(o.describe).replace(/\s+/g, ' '));
    }
    for (const [cmd] of spec.examples) expect(man).toContain(cmd);
  });
});

describe.each(TOOLS)('%s: README shows the current --help', (tool) => {
  it('verbatim (node scripts/readme-help.mjs refreshes it)', () => {
    const readme = readFileSync(join(toolDir(tool), 'README.md'), 'utf8');
    const help = execFileSync(toolBin(tool), ['--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } }).trimEnd();
    expect(readme).toContain(help);
  });
});

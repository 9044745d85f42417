// `bpf-recipes completion` prints yargs' completion script for bpf-recipes with every tool bound to
// it. Sourced in a real bash, the completion function must fill COMPREPLY as bash would on TAB.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOptions } from '@bpf-recipes/cli';
import { TOOLS, toolBin, toolSpec } from '../src/tools.js';

const umbrella = join(import.meta.dirname, '..', 'bin', 'bpf-recipes.js');
let dir: string;
let script: string;

beforeAll(() => {
  // bpf-recipes on PATH by its name, as an installed command is: the script calls it by name
  dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-completion-'));
  symlinkSync(umbrella, join(dir, 'bpf-recipes'));
  // and every tool, as an install puts them: a bare tool name is completed where it runs ours
  for (const t of TOOLS) symlinkSync(toolBin(t), join(dir, t));
  script = join(dir, 'bpf-recipes.bash');
  writeFileSync(script, execFileSync(umbrella, ['completion'], { encoding: 'utf8' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** COMPREPLY after TAB on `line` (the last word is the one being completed; '' for a new word). */
function tab(...words: string[]): string[] {
  return tabWith(dir, ...words);
}

function tabWith(path: string, ...words: string[]): string[] {
  const bash = [
    `source ${script}`,
    // the function bound to the command, as `complete -p` reports it
    `fn=$(complete -p ${words[0]} | sed -E 's/.* -F ([^ ]+) .*/\\1/')`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
    `COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}`,
    '"$fn"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '-c', bash], { encoding: 'utf8', env: { ...process.env, PATH: `${path}:${process.env.PATH}` } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('bpf-recipes completion (bash)', () => {
  it('binds bpf-recipes and every tool to the completion function', () => {
    const r = spawnSync('bash', ['--norc', '-c', `source ${script}; complete -p`], { encoding: 'utf8' });
    for (const cmd of ['bpf-recipes', ...TOOLS]) expect(r.stdout).toMatch(new RegExp(`-F _bpf-recipes_yargs_completions ${cmd}$`, 'm'));
  });
  it('opensnoop --tim<TAB> completes --timestamp; --ti<TAB> offers --tid and --timestamp', () => {
    expect(tab('opensnoop', '--tim')).toEqual(['--timestamp']);
    expect(tab('opensnoop', '--ti').sort()).toEqual(['--tid', '--timestamp']);
  });
  it("a bare tool name that runs another package's command (libbpf-tools' opensnoop) gets none of our options", () => {
    const other = mkdtempSync(join(tmpdir(), 'bpf-recipes-other-'));
    try {
      writeFileSync(join(other, 'opensnoop'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      symlinkSync(umbrella, join(other, 'bpf-recipes'));
      expect(tabWith(other, 'opensnoop', '--tim')).toEqual([]);
      // ours stays reachable through the umbrella
      expect(tabWith(other, 'bpf-recipes', 'opensnoop', '--tim')).toEqual(['--timestamp']);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
  it('bpf-recipes <TAB> offers the commands and every tool', () => {
    expect(tab('bpf-recipes', '').sort()).toEqual(['completion', 'doctor', 'exporter', 'help', 'list', ...TOOLS].sort());
    expect(tab('bpf-recipes', 'sys')).toEqual(['syscount', 'syslatency']);
  });
  it("bpf-recipes TOOL --x<TAB> completes that tool's options; subcommands their own", () => {
    expect(tab('bpf-recipes', 'opensnoop', '--tim')).toEqual(['--timestamp']);
    expect(tab('bpf-recipes', 'syscount', '--la')).toEqual(['--latency']);
    expect(tab('bpf-recipes', 'doctor', '--j')).toEqual(['--json']);
    expect(tab('bpf-recipes', 'completion', '').sort()).toEqual(['bash', 'zsh']);
  });
  it.each(TOOLS)('%s --<TAB> offers every option of its table', async (tool) => {
    const offered = tab(tool, '--');
    const expected = [...Object.keys(allOptions(await toolSpec(tool))), 'help', 'version'].map((n) => `--${n}`);
    expect(offered.filter((o) => o.length > 3).sort()).toEqual(expected.sort());
  });
});

describe('bpf-recipes completion zsh', () => {
  it("is yargs' zsh script, with every tool bound by compdef", () => {
    const zsh = execFileSync(umbrella, ['completion', 'zsh'], { encoding: 'utf8' });
    expect(zsh).toMatch(/^#compdef bpf-recipes\n/);
    expect(zsh).toContain('bpf-recipes --get-yargs-completions');
    expect(zsh).toContain(`compdef _bpf-recipes_yargs_completions ${TOOLS.join(' ')}`);
  });
  it('a shell it does not know is a usage error', () => {
    const r = spawnSync(umbrella, ['completion', 'fish'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bpf-recipes: completion: give bash or zsh/);
  });
});

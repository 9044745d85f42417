import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toolBin } from '@bpf-recipes/testing';
import { allOptions, parseArgs } from '@bpf-recipes/cli';
import { spec } from '../src/tool.js';

describe('opensnoop --help', () => {
  const help = execFileSync(toolBin('opensnoop'), ['--help'], { encoding: 'utf8' });
  it('lists every option of the spec', () => {
    for (const name of Object.keys(allOptions(spec))) expect(help).toContain(`--${name}`);
  });
  it('shows examples', () => {
    expect(help).toContain('opensnoop -T -e');
  });
  it('takes the short letters of libbpf-tools opensnoop, -t TID included', () => {
    const a = parseArgs<Record<string, unknown>>(spec, ['-t', '42', '-T', '-U', '-x', '-e', '-p', '7', '-u', '0', '-n', 'cat', '-d', '1']);
    expect(a).toMatchObject({ tid: '42', timestamp: true, 'print-uid': true, failed: true, 'extended-fields': true, pid: '7', uid: '0', name: 'cat', duration: '1' });
  });
});

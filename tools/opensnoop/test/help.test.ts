import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toolBin } from '@bpf-recipes/testing';
import { allOptions } from '@bpf-recipes/cli';
import { spec } from '../src/spec.js';

describe('opensnoop --help', () => {
  const help = execFileSync(toolBin('opensnoop'), ['--help'], { encoding: 'utf8' });
  it('lists every option of the spec', () => {
    for (const name of Object.keys(allOptions(spec))) expect(help).toContain(`--${name}`);
  });
  it('shows examples', () => {
    expect(help).toContain('opensnoop -T -e');
  });
});

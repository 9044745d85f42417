import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@bpf-recipes/core';
import { parseDuration } from '../src/options.js';
import { cgroup2Mount, cgroup2Mounts, commonConfig, kernelDev, parseCgroup, parsePids, parseSize } from '@bpf-recipes/runtime';
import { allOptions, parseArgs, type ToolSpec } from '../src/tool.js';
import { completeCommandLine, helpText, parseCommandLine } from '../src/args.js';

describe('common option parsers', () => {
  it('pids', () => {
    expect(parsePids('1,22, 333')).toEqual([1, 22, 333]);
    expect(() => parsePids('abc')).toThrow(UsageError);
    expect(() => parsePids('0')).toThrow(/not a process ID/);
    expect(() => parsePids(Array.from({ length: 17 }, (_, i) => i + 1).join(','))).toThrow(/at most 16/);
  });
  it('durations', () => {
    expect(parseDuration('2.5')).toBe(2.5);
    expect(() => parseDuration('-1')).toThrow(/not a number of seconds/);
    expect(() => parseDuration('x')).toThrow(UsageError);
  });
  it('buffer sizes are powers of two', () => {
    expect(parseSize('8M')).toBe(8 << 20);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('1000')).toThrow(/power of two/);
    expect(() => parseSize('3M')).toThrow(UsageError);
  });
  it('turns filters into the kernel config of recipes.h', () => {
    expect(commonConfig({ pid: '10,20', tid: '7', uid: '0', name: 'nginx' })).toEqual({
      cfg_pids: [10, 20], cfg_npids: 2, cfg_tid: 7, cfg_filter_uid: true, cfg_uid: 0, cfg_comm: 'nginx', cfg_comm_len: 5,
    });
    expect(commonConfig({})).toEqual({});
    expect(() => commonConfig({ name: 'a-name-longer-than-15' })).toThrow(/1 to 15 bytes/);
  });
  it('finds the cgroup v2 mount in mountinfo', () => {
    const mi = '30 23 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n31 23 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n';
    expect(cgroup2Mount(mi)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Mount('31 23 0:27 / /x rw - cgroup cgroup rw,cpu\n')).toBeUndefined();
  });
  it('lists every cgroup v2 mount with its root, leaving out one a later mount hides', () => {
    const mi = [
      '30 23 0:26 /../.. /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      '40 23 0:26 / /tmp/cg rw - cgroup2 none rw',
      '41 23 0:26 / /tmp/cg2 rw - cgroup2 none rw',
      '42 23 0:50 / /tmp/cg2 rw - tmpfs none rw',
    ].join('\n');
    expect(cgroup2Mounts(mi)).toEqual([{ mount: '/sys/fs/cgroup/unified', root: '/../..' }, { mount: '/tmp/cg', root: '/' }]);
  });
  it("turns stat(2)'s dev_t into the kernel's (major << 20 | minor), as bpf_get_ns_current_pid_tgid() compares it", () => {
    expect(kernelDev(4n)).toBe(4n); // nsfs: 0:4
    expect(kernelDev(0x0803n)).toBe((8n << 20n) | 3n); // 8:3
    expect(kernelDev(0x100_0103n)).toBe((1n << 20n) | 0x1003n); // 1:4099 (glibc puts minor bits 8+ at 20+)
  });
  it('resolves a cgroup to its id and level', () => {
    const mount = cgroup2Mount();
    if (!mount) return expect(() => parseCgroup('/x')).toThrow(UsageError);
    const root = parseCgroup(mount);
    expect(root.level).toBe(0);
    expect(root.id).toBeGreaterThan(0n);
    expect(() => parseCgroup(`${mount}/no-such-cgroup-here`)).toThrow(/does not exist/);
    expect(() => parseCgroup('/etc')).toThrow(/not under the cgroup v2 mount/);
  });
});

describe('parseArgs: every complaint of the parser is a usage error', () => {
  const spec: ToolSpec = {
    name: 'demo',
    version: '1.0.0',
    summary: 'a demo',
    examples: [['demo -p 1', 'only pid 1']],
    options: {
      extra: { type: 'boolean', describe: 'an own option' },
      flag: { alias: 'F', type: 'string', array: true, arg: 'FLAG', describe: 'repeatable' },
      interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'an interval' },
    },
    common: ['pid', 'duration', 'uid'],
  };
  it('a missing value names the option, short or long', () => {
    expect(() => parseArgs(spec, ['-p'])).toThrow(UsageError);
    expect(() => parseArgs(spec, ['-p'])).toThrow(/^--pid needs a value$/);
    expect(() => parseArgs(spec, ['--duration'])).toThrow(/^--duration needs a value$/);
    expect(() => parseArgs(spec, ['--uid', '--extra'])).toThrow(/^--uid needs a value$/);
    expect(() => parseArgs(spec, ['-F'])).toThrow(/^--flag needs a value$/);
    expect(() => parseArgs(spec, ['-p', '-d', '1'])).toThrow(/^--pid needs a value$/);
  });
  it('a negative number after an option is its value, as with getopt', () => {
    expect(parseArgs(spec, ['-i', '-1'])).toEqual({ interval: '-1' });
    expect(parseArgs(spec, ['--interval', '-0.5'])).toEqual({ interval: '-0.5' });
  });
  it('unknown options, stray words and values given to switches', () => {
    expect(() => parseArgs(spec, ['--bogus'])).toThrow(/^unknown option --bogus$/);
    expect(() => parseArgs(spec, ['-q'])).toThrow(/^unknown option -q$/);
    expect(() => parseArgs(spec, ['word'])).toThrow(/^unexpected argument 'word'/);
    expect(() => parseArgs(spec, ['--extra=yes'])).toThrow(/^--extra takes no value$/);
    // yargs would read these as false / eat the word: a switch takes no value here
    expect(() => parseArgs(spec, ['--extra=true'])).toThrow(/^--extra takes no value$/);
    expect(() => parseArgs(spec, ['--extra', 'false'])).toThrow(/^--extra takes no value$/);
    expect(() => parseArgs(spec, ['-Fx', '--extra', 'true'])).toThrow(/^--extra takes no value$/);
    // the first problem on the line is the one named
    expect(() => parseArgs(spec, ['-p', '1', 'word', '--bogus'])).toThrow(/^unexpected argument 'word'/);
    expect(() => parseArgs(spec, ['--bogus', 'word'])).toThrow(/^unknown option --bogus$/);
    // short options in a group, each checked
    expect(() => parseArgs(spec, ['--extra', '-qp', '1'])).toThrow(/^unknown option -q$/);
    // no camelCase, dot-notation or --no-X forms: those are unknown options
    expect(() => parseArgs(spec, ['--noSuch'])).toThrow(/^unknown option --noSuch$/);
    expect(() => parseArgs(spec, ['--no-extra'])).toThrow(/^unknown option --no-extra$/);
    expect(() => parseArgs(spec, ['--pid.x', '1'])).toThrow(/^unknown option --pid.x$/);
    // words after -- are the command to run, whatever they look like; a word before it is stray
    expect(parseArgs(spec, ['-p', '1', '--', 'dd', '-p', '--', 'x'])).toEqual({ pid: '1', command: ['dd', '-p', '--', 'x'] });
    expect(parseArgs(spec, ['--'])).toEqual({ command: [] });
    expect(() => parseArgs(spec, ['word', '--', 'x'])).toThrow(/^unexpected argument 'word'/);
    expect(() => parseArgs(spec, ['-1'])).toThrow(/^unexpected argument '-1'/);
  });
  it('--help and --version win over anything else on the line, bad input included', () => {
    expect(parseCommandLine(allOptions(spec), ['--bogus', '-h'])).toEqual({ args: {}, help: true, version: false });
    expect(parseCommandLine(allOptions(spec), ['-p', '-V'])).toEqual({ args: {}, help: false, version: true });
    expect(parseCommandLine(allOptions(spec), ['--extra', '-Fx', '--help'])).toMatchObject({ help: true });
    // a short group with h in it asks for help too
    expect(parseCommandLine(allOptions(spec), ['-h'])).toMatchObject({ help: true });
    // after --, --help is the command's
    expect(parseCommandLine(allOptions(spec), ['--', 'ls', '--help'])).toEqual({ args: { command: ['ls', '--help'] }, help: false, version: false });
  });
  it('values are kept as given: strings, not numbers; empty and =-joined values', () => {
    expect(parseArgs(spec, ['-p', '007', '--interval=1e3'])).toEqual({ pid: '007', interval: '1e3' });
    // as with getopt, the rest of a short group after an option that takes a value is its value
    expect(parseArgs(spec, ['-p007', '-F='])).toEqual({ pid: '007', flag: ['='] });
    expect(parseArgs(spec, ['-Fbash', '-F-x', '-i1.5'])).toEqual({ flag: ['bash', '-x'], interval: '1.5' });
    expect(parseArgs(spec, ['--pid='])).toEqual({ pid: '' });
  });
  it('good input: a repeated single-value option keeps the last, a repeatable one keeps all', () => {
    expect(parseArgs(spec, ['-p', '12', '--extra', '-d', '1', '-d', '2', '-F', 'A', '--flag=B', '--interval=-1'])).toEqual({
      pid: '12', extra: true, duration: '2', flag: ['A', 'B'], interval: '-1',
    });
    expect(parseArgs(spec, [])).toEqual({});
    // short aliases do not appear beside their long names
    expect(Object.keys(parseArgs(spec, ['-p', '1', '-F', 'X', '-d', '3']))).toEqual(['pid', 'flag', 'duration']);
    expect(parseArgs(spec, ['-F', 'A'])).toEqual({ flag: ['A'] });
    expect(parseArgs(spec, ['--extra', '--extra'])).toEqual({ extra: true });
  });
  it('yargs completes the option table: long options for --x, every one for -', async () => {
    expect(await completeCommandLine(allOptions(spec), ['demo', '--int'])).toContain('--interval');
    const all = await completeCommandLine(allOptions(spec), ['demo', '-']);
    for (const name of Object.keys(allOptions(spec))) expect(all).toContain(`--${name}`);
    // an option already on the line is not offered again
    expect(await completeCommandLine(allOptions(spec), ['demo', '--extra', '--'])).not.toContain('--extra');
  });
  it('--help lists every option with its value, aligned in one column, then the examples', () => {
    const text = helpText(spec, allOptions(spec), 100);
    const lines = text.split('\n');
    expect(lines[0]).toBe('demo [options] [-- COMMAND [ARGS...]]');
    const flags = lines.filter((l) => /^ {2}(-\w, | {4})--/.test(l));
    expect(flags.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual([
      '--extra', '-F, --flag FLAG', '-i, --interval SEC', '-h, --help', '-V, --version',
      '-p, --pid PID[,PID...]', '-d, --duration SEC', '-u, --uid UID', '--metrics ADDR', '--metrics-allow-remote', '--metrics-by BY', '--metrics-top N', '--web-config FILE', '--keep-capabilities', // every tool's
      '-o, --output FILE', '--no-follow', '--user USER',
    ]);
    const starts = new Set(flags.map((l) => 2 + /^(.*?\S)\s{2,}/.exec(l.slice(2))![0].length));
    expect(starts.size).toBe(1);
    expect(text).toMatch(/\nCommon options:\n/);
    expect(text).toMatch(/\nExamples:\n {2}demo -p 1 {2}only pid 1\n/);
  });
  it('long descriptions wrap under their own column', () => {
    const long = { ...spec, options: { x: { type: 'boolean' as const, describe: 'word '.repeat(40).trim() } }, common: [] as never[] };
    const lines = helpText(long, allOptions(long), 60).split('\n').filter((l) => l.includes('word'));
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(new Set(lines.map((l) => l.indexOf('word'))).size).toBe(1);
  });
});

describe('the launch build (dist/index.cjs): yargs from its own file, with the V8 code cache', () => {
  const bundle = new URL('../dist/index.cjs', import.meta.url).pathname;
  const run = (flags: string[]) =>
    execFileSync(process.execPath, [...flags, '-e', `
      const cli = require(${JSON.stringify(bundle)});
      const table = { pid: { alias: 'p', type: 'string', describe: 'x' }, timestamp: { alias: 'T', type: 'boolean', describe: 'x' } };
      let bad; try { cli.parseCommandLine(table, ['--bogus']); } catch (e) { bad = e.message; }
      console.log(JSON.stringify({ cache: cli.yargsCodeCache(), args: cli.parseCommandLine(table, ['-Tp', '7']).args, bad }));`], { encoding: 'utf8' });
  it('under the launchers\' flags the cache made at build time is used', () => {
    expect(JSON.parse(run(['--max-semi-space-size=2']))).toEqual({ cache: 'used', args: { timestamp: true, pid: '7' }, bad: 'unknown option --bogus' });
  });
  it('a cache V8 will not take (other flags, another Node) is rejected and yargs parses all the same', () => {
    expect(JSON.parse(run(['--max-semi-space-size=4', '--no-opt']))).toEqual({ cache: 'rejected', args: { timestamp: true, pid: '7' }, bad: 'unknown option --bogus' });
  });
});

import { describe, expect, it } from 'vitest';
import { commandFor, compileMatch, literalPrefix } from '../src/match.js';

describe('matching', () => {
  it('the default matches python, python3 and python3.11, not pythonista or bash', () => {
    const re = compileMatch(undefined);
    for (const n of ['python', 'python3', 'python3.11', 'python2.7']) expect(re.test(n), n).toBe(true);
    for (const n of ['bash', 'pythonista', 'ipython', 'python3-config']) expect(re.test(n), n).toBe(false);
  });
  it('derives the kernel prefilter from the regex', () => {
    expect(literalPrefix(undefined)).toBe('python');
    expect(literalPrefix('^uwsgi$')).toBe('uwsgi');
    expect(literalPrefix('^pythons?')).toBe('python');
    expect(literalPrefix('^(python|uwsgi)')).toBe('');
    expect(literalPrefix('python')).toBe('');
    expect(literalPrefix('^python3\\.11')).toBe('python3.11');
    // an alternative of the whole regex needs no prefix: no prefilter
    expect(literalPrefix('^python|uwsgi')).toBe('');
    expect(literalPrefix('^python$|^uwsgi$')).toBe('');
    expect(literalPrefix('^python[|]x|y')).toBe('');
    // a | inside a group or a class, or escaped, leaves the prefix in force
    expect(literalPrefix('^python(2|3)')).toBe('python');
    expect(literalPrefix('^python[|]')).toBe('python');
    expect(literalPrefix('^python\\|x')).toBe('python');
  });
  it('rejects a bad regex', () => {
    expect(() => compileMatch('(')).toThrow(/--match: not a regular expression/);
  });
  it('splits --exec without a shell and puts the PID in', () => {
    expect(commandFor("austin -C -p {} --output='a b-{}.txt'", 42)).toEqual(['austin', '-C', '-p', '42', '--output=a b-42.txt']);
    expect(commandFor('echo "" x', 1)).toEqual(['echo', '', 'x']);
    expect(() => commandFor("echo 'x", 1)).toThrow(/unbalanced/);
    expect(() => commandFor('  ', 1)).toThrow(/give a command/);
  });
});

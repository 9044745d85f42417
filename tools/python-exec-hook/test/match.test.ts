import { describe, expect, it } from 'vitest';
import { PyexecTail } from '../src/generated/python-exec-hook.js';
import { commandFor, compileMatch, kernelMatch, literalPrefix } from '../src/match.js';

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
  it('knows when the kernel can make the whole match (for --metrics, counted there)', () => {
    expect(kernelMatch(undefined)).toEqual({ prefix: 'python', tail: PyexecTail.PYEXEC_TAIL_VERSION });
    expect(kernelMatch('^uwsgi$')).toEqual({ prefix: 'uwsgi', tail: PyexecTail.PYEXEC_TAIL_END });
    expect(kernelMatch('^python[.0-9]*$')).toEqual({ prefix: 'python', tail: PyexecTail.PYEXEC_TAIL_VERSION });
    expect(kernelMatch('^python')).toEqual({ prefix: 'python', tail: PyexecTail.PYEXEC_TAIL_ANY });
    expect(kernelMatch('^python3\\.11$')).toEqual({ prefix: 'python3.11', tail: PyexecTail.PYEXEC_TAIL_END });
    for (const src of ['^pythons?', '^(python|uwsgi)$', 'python', '^python[0-9]*$', '^a-very-long-name-of-16$', '^python.*$', '^python[0-9]+$']) expect(kernelMatch(src), src).toBeUndefined();
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

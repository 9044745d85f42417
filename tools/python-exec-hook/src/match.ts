/** What counts as Python, and how much of it the kernel can check. */
import { UsageError } from '@bpf-recipes/core';
import { PyexecTail } from './generated/python-exec-hook.js';

export const DEFAULT_MATCH = '^python[0-9.]*$';

export function compileMatch(src: string | undefined): RegExp {
  try {
    return new RegExp(src ?? DEFAULT_MATCH);
  } catch (e) {
    throw new UsageError(`--match: not a regular expression: ${(e as Error).message}`);
  }
}

/**
 * The literal prefix every match must start with, for the kernel's prefilter (at most 15 bytes):
 * "^python[0-9.]*$" → "python"; "^(python|uwsgi)" and "^python|uwsgi" → "" (no prefilter: every
 * exec is checked here). A prefix narrows what the kernel reports, so only a regex that cannot
 * match without it gives one.
 */
export function literalPrefix(src: string | undefined): string {
  if (hasTopLevelAlternation(src ?? DEFAULT_MATCH)) return ''; // "^python|uwsgi": the second branch needs no "python"
  const m = /^\^((?:[A-Za-z0-9_\-/]|\\\.)+)/.exec(src ?? DEFAULT_MATCH);
  if (!m) return '';
  let p = m[1].replace(/\\\./g, '.');
  // a quantifier right after the literal makes its last character optional
  const next = (src ?? DEFAULT_MATCH).slice(1 + m[1].length);
  if (/^[?*{]/.test(next)) p = p.slice(0, -1);
  return Buffer.from(p).subarray(0, 15).toString();
}

/**
 * The whole match, when the kernel can make it itself (for --metrics, counted there): `^NAME`,
 * `^NAME$` or `^NAME[0-9.]*$` (the default), NAME of literal characters, at most 15 bytes. The
 * tail says what may follow NAME (enum pyexec_tail); undefined when the regex is another shape.
 */
export function kernelMatch(src: string | undefined): { prefix: string; tail: PyexecTail } | undefined {
  const m = /^\^((?:[A-Za-z0-9_\-/]|\\\.)+)(\$|\[(?:0-9\\?\.|\\?\.0-9)\]\*\$)?$/.exec(src ?? DEFAULT_MATCH);
  if (!m) return undefined;
  const prefix = m[1].replace(/\\\./g, '.');
  if (Buffer.byteLength(prefix) > 15) return undefined;
  return { prefix, tail: m[2] === undefined ? PyexecTail.PYEXEC_TAIL_ANY : m[2] === '$' ? PyexecTail.PYEXEC_TAIL_END : PyexecTail.PYEXEC_TAIL_VERSION };
}

/** Is there a `|` outside every group and character class (an alternative of the whole regex)? */
function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === '|' && depth === 0) return true;
  }
  return false;
}

/** "austin -C -p {} --output='a b-{}.txt'" → argv with {} replaced; quotes group, no shell. */
export function commandFor(template: string, pid: number): string[] {
  const args: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (const ch of template) {
    if (quote) {
      if (ch === quote) quote = '';
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (cur || has) args.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (quote) throw new UsageError(`--exec: unbalanced ${quote} in '${template}'`);
  if (cur || has) args.push(cur);
  if (args.length === 0) throw new UsageError('--exec: give a command, e.g. --exec "austin -p {}"');
  return args.map((a) => a.split('{}').join(String(pid)));
}

/** Stack tools' folded output in tests: stacks, whether they hold a call chain, and their counts. */

export interface FoldedStack {
  /** root first, without the comm */
  frames: string[];
  count: number;
}

/** Folded lines (`comm;root;...;leaf COUNT`) → stacks, root first, without the comm. */
export function foldedStacks(text: string): FoldedStack[] {
  return text
    .split('\n')
    .filter((l) => /^\S.* \d+$/.test(l))
    .map((l) => {
      const at = l.lastIndexOf(' ');
      return { frames: l.slice(0, at).split(';').slice(1), count: Number(l.slice(at + 1)) };
    });
}

/** Whether `frames` (root first) hold `chain` as consecutive frames. */
export function holdsChain(frames: readonly string[], chain: readonly string[]): boolean {
  for (let i = 0; i + chain.length <= frames.length; i++) if (chain.every((c, j) => frames[i + j] === c)) return true;
  return false;
}

/** The counts of the stacks `pick` takes. */
export function countOf(stacks: readonly FoldedStack[], pick: (frames: string[]) => boolean = () => true): number {
  return stacks.filter((s) => pick(s.frames)).reduce((n, s) => n + s.count, 0);
}

/** The share of the counts whose stack holds `chain`. */
export function chainShare(stacks: readonly FoldedStack[], chain: readonly string[]): number {
  const all = countOf(stacks);
  return all ? countOf(stacks, (f) => holdsChain(f, chain)) / all : 0;
}

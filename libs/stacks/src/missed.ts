/**
 * The per-CPU counters a stack tool's kernel side keeps of what it could not store: kernel and
 * user stacks (stack map full, or a hash collision in it) and entries of its counts map (full).
 * The indexes are the tool's (its header's enum, through the generated skeleton).
 */
import { type BpfMap } from '@bpf-recipes/core';

export interface MissedIndexes {
  kernel: number;
  user: number;
  /** the counts map was full: the event was not counted */
  counts: number;
}

export interface Missed {
  kernel_stacks: number;
  user_stacks: number;
  counts: number;
}

export class MissedStacks {
  private seen: Missed = { kernel_stacks: 0, user_stacks: 0, counts: 0 };
  private readonly key = Buffer.alloc(4);

  constructor(private readonly map: BpfMap, private readonly at: MissedIndexes) {}

  private sum(i: number): number {
    this.key.writeUInt32LE(i);
    return this.map.sumU64(this.key);
  }

  /** The totals since the start. */
  total(): Missed {
    return { kernel_stacks: this.sum(this.at.kernel), user_stacks: this.sum(this.at.user), counts: this.sum(this.at.counts) };
  }

  /** What was missed since the last call. */
  sinceLastCall(): Missed {
    const t = this.total();
    const d = { kernel_stacks: t.kernel_stacks - this.seen.kernel_stacks, user_stacks: t.user_stacks - this.seen.user_stacks, counts: t.counts - this.seen.counts };
    this.seen = t;
    return d;
  }
}

/**
 * The lines on stderr that say what was missed (none when nothing was). `unit` names what the
 * counts map counts, plural: "events" (stackcount), "samples" (profile), "blocks" (offcputime).
 */
export function missedNotes(tool: string, m: Missed, countsMax: number, unit = 'events'): string[] {
  const out: string[] = [];
  if (m.kernel_stacks || m.user_stacks) {
    out.push(
      `${tool}: ${m.kernel_stacks} kernel and ${m.user_stacks} user stacks could not be stored (stack map full or a hash collision: a larger --stack-storage-size helps); counted as [missed ... stack]`,
    );
  }
  if (m.counts) out.push(`${tool}: Lost ${m.counts} ${unit}: the counts map was full (${countsMax} distinct stacks)`);
  return out;
}

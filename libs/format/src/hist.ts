/**
 * log2 histograms in the bpftrace style. Slot 0 holds the value 0, slot 1 the value 1, and
 * slot k >= 2 the values [2^(k-1), 2^k) — the same slots as recipes_log2_slot() in recipes.h.
 */
const SUFFIX = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

function short(n: number): string {
  let i = 0;
  while (n >= 1024 && n % 1024 === 0 && i < SUFFIX.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n}${SUFFIX[i]}`;
}

export function slotOf(v: number): number {
  return v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1;
}

export function slotLabel(slot: number): string {
  if (slot === 0) return '[0]';
  if (slot === 1) return '[1]';
  return `[${short(2 ** (slot - 1))}, ${short(2 ** slot)})`;
}

/** Render counts per slot; empty slots at both ends are left out, as bpftrace does. */
export function log2Hist(counts: number[], opts: { title?: string; width?: number } = {}): string {
  const width = opts.width ?? 52;
  let first = counts.findIndex((c) => c > 0);
  if (first < 0) return opts.title ? `${opts.title}\n` : '';
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  first = Math.max(0, first);
  const max = Math.max(...counts);
  const labels = [];
  for (let s = first; s <= last; s++) labels.push(slotLabel(s));
  const lw = Math.max(...labels.map((l) => l.length));
  const cw = Math.max(...counts.slice(first, last + 1).map((c) => String(c).length), 1);
  const lines = opts.title ? [opts.title] : [];
  for (let s = first; s <= last; s++) {
    const c = counts[s] ?? 0;
    const bar = '@'.repeat(max ? Math.round((c / max) * width) : 0);
    lines.push(`${labels[s - first].padEnd(lw)} ${String(c).padStart(cw + 4)} |${bar.padEnd(width)}|`);
  }
  return lines.join('\n') + '\n';
}

/** speedscope's file format (https://www.speedscope.app/file-format-schema.json): one sampled profile. */
import { totalCount, type FlameStack, type ProfileMeta } from './stacks.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFile {
  $schema: string;
  exporter: string;
  name: string;
  activeProfileIndex: number;
  shared: { frames: { name: string; file?: string }[] };
  profiles: {
    type: 'sampled';
    name: string;
    unit: string;
    startValue: number;
    endValue: number;
    /** frame indexes, root first */
    samples: number[][];
    weights: number[];
  }[];
}

/** One frame per distinct name; each stack a sample weighted by its count. */
export function toSpeedscope(stacks: readonly FlameStack[], meta: ProfileMeta, exporter = 'bpf-recipes'): SpeedscopeFile {
  const index = new Map<string, number>();
  const frames: { name: string }[] = [];
  const samples: number[][] = [];
  const weights: number[] = [];
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    samples.push(
      s.frames.map((f) => {
        let i = index.get(f.name);
        if (i === undefined) {
          i = frames.length;
          index.set(f.name, i);
          frames.push({ name: f.name });
        }
        return i;
      }),
    );
    weights.push(s.count);
  }
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    exporter,
    name: meta.name,
    activeProfileIndex: 0,
    shared: { frames },
    profiles: [{ type: 'sampled', name: meta.name, unit: meta.unit ?? 'none', startValue: 0, endValue: totalCount(stacks.filter((s) => s.count > 0)), samples, weights }],
  };
}

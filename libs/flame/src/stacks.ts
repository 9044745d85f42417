/** Counted stacks: what every output format of the stack tools (stackcount, later offcputime, profile) starts from. */

export interface FlameFrame {
  /** the frame's text as the tool prints it (a function name, `[unknown] (libc.so.6+0x1234)`, a comm) */
  name: string;
  /** where its code lies (`libc.so.6`, `[kernel]`, …), when known: pprof gets a mapping per module */
  module?: string;
}

export interface FlameStack {
  /** root (outermost) first, leaf last */
  frames: FlameFrame[];
  /** how many times the stack was seen (or its weight: microseconds off CPU, …) */
  count: number;
  /** the values of ProfileMeta's `more` sample types (pprof only), in their order */
  more?: number[];
}

/** What is counted, for the formats that name it (pprof's sample type, speedscope's unit). */
export interface ProfileMeta {
  /** the profile's name: the tool and what it traced (e.g. `stackcount syscalls:sys_enter_getppid`) */
  name: string;
  /** pprof sample type and speedscope unit: what one count is; default `count`/`count` (speedscope: `none`) */
  sampleType?: string;
  unit?: string;
  /** pprof: sample types besides the first, each stack's values in its `more` (e.g. calls beside latency) */
  more?: { sampleType: string; unit: string }[];
  /** when tracing started and how long it ran, for pprof's time_nanos / duration_nanos */
  startMs?: number;
  durationMs?: number;
}

/** The sum of the counts. */
export function totalCount(stacks: readonly FlameStack[]): number {
  let n = 0;
  for (const s of stacks) n += s.count;
  return n;
}

/** A call tree: children merged by frame name, counts summed. */
export interface FlameNode {
  name: string;
  /** samples in this frame and every frame it called */
  total: number;
  /** samples whose leaf is this frame */
  self: number;
  children: FlameNode[];
}

/** Merge stacks into one tree under a root named `root` (children sorted by name, as flame graphs are). */
export function callTree(stacks: readonly FlameStack[], root = 'all'): FlameNode {
  interface Building extends FlameNode {
    byName: Map<string, Building>;
  }
  const make = (name: string): Building => ({ name, total: 0, self: 0, children: [], byName: new Map() });
  const top = make(root);
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    let node = top;
    node.total += s.count;
    for (const f of s.frames) {
      let next = node.byName.get(f.name);
      if (!next) {
        next = make(f.name);
        node.byName.set(f.name, next);
      }
      node = next;
      node.total += s.count;
    }
    node.self += s.count;
  }
  const finish = (b: Building): FlameNode => ({
    name: b.name,
    total: b.total,
    self: b.self,
    children: [...b.byName.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)).map(finish),
  });
  return finish(top);
}

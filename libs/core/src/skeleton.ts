/** What every generated skeleton (libs/codegen, src/generated/<name>.ts of a tool) has in common. */
import type { RodataLayout } from './decode.js';
import type { BpfObject, OpenOptions } from './object.js';

export interface Skeleton<C = unknown> {
  readonly obj: BpfObject;
  setConfig(config: C): void;
}

export interface SkeletonClass<S extends Skeleton<C>, C = unknown> {
  /** the object file's name (biosnoop.bpf.o) */
  readonly object: string;
  readonly rodata: RodataLayout;
  open(path: string, opts?: OpenOptions): S;
}

/** The typed config of a skeleton (the argument of its setConfig). */
export type ConfigOf<S> = S extends { setConfig(config: infer C): void } ? C : never;

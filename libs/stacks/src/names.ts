/**
 * Stack ids of a BPF stack-trace map → named frames. Kernel stacks through /proc/kallsyms (the BPF
 * frames at their top dropped), user stacks through the process's maps and files, cached per
 * (PID, stack id): a user stack must be named while its process lives, and then keeps its names.
 */
import { type BpfMap } from '@bpf-recipes/core';
import { type FlameFrame } from '@bpf-recipes/flame';
import { Symbolizer, frameLabel, type Frame } from '@bpf-recipes/symbols';
import { INCOMPLETE_USER_FRAME, UNWIND_INCOMPLETE_PC } from './unwind.js';

/** The frames shown for a stack the kernel could not store (stack map full, hash collision). */
export const MISSED_KERNEL_FRAME = '[missed kernel stack]';
export const MISSED_USER_FRAME = '[missed user stack]';

export interface StackNamerOptions {
  /** the BPF_MAP_TYPE_STACK_TRACE map the ids point into */
  stacks: BpfMap;
  /** the map user stack ids point into when they were walked by call-frame information (recipes_unwind.h's unwind_stacks) */
  userStacks?: BpfMap;
  /** kernel and user stacks were captured (-K/-U) */
  kernel: boolean;
  user: boolean;
  /** the id the kernel side stores for a stack it could not store (its header's constant); other negative ids: no stack */
  missedId: number;
  /** where a one-time note goes (kernel symbols hidden) */
  note?: (message: string) => void;
  /** the tool's name, in notes */
  tool: string;
  /** -v diagnostics of the symbolizer (e.g. why C++ names stay mangled), each said once */
  verbose?: (message: string) => void;
  symbolizer?: Symbolizer;
}

function flameFrame(f: Frame): FlameFrame {
  return f.module !== undefined ? { name: frameLabel(f), module: f.module } : { name: frameLabel(f) };
}

export class StackNamer {
  readonly symbolizer: Symbolizer;
  private readonly userCache = new Map<string, FlameFrame[]>(); // `${pid}:${id}`
  private kernelCache = new Map<number, FlameFrame[]>();
  private hiddenSaid = false;
  private readonly key = Buffer.alloc(4);

  constructor(private readonly o: StackNamerOptions) {
    this.symbolizer = o.symbolizer ?? new Symbolizer(o.verbose ? { log: o.verbose } : {});
  }

  /** The addresses of stack `id`, leaf first (empty when the map no longer holds it). */
  addresses(id: number, map: BpfMap = this.o.stacks): bigint[] {
    this.key.writeUInt32LE(id);
    const v = map.lookup(this.key);
    if (!v) return [];
    const out: bigint[] = [];
    for (let at = 0; at + 8 <= v.length; at += 8) {
      const ip = v.readBigUInt64LE(at);
      if (ip === 0n) break;
      out.push(ip);
    }
    return out;
  }

  /** The kernel frames of stack `id`, leaf first; undefined when kernel stacks were not captured. */
  kernel(id: number): FlameFrame[] | undefined {
    if (!this.o.kernel) return undefined;
    if (id === this.o.missedId) return [{ name: MISSED_KERNEL_FRAME }];
    if (id < 0) return [];
    let names = this.kernelCache.get(id);
    if (!names) {
      const k = this.symbolizer.kernel();
      if (k.hidden && !this.hiddenSaid) {
        this.hiddenSaid = true;
        this.o.note?.(`${this.o.tool}: ${k.hidden}`);
      }
      names = this.symbolizer.kernelStack(this.addresses(id)).map(flameFrame);
      this.kernelCache.set(id, names);
    }
    return names;
  }

  /** The user frames of stack `id` of process `pid`, leaf first; undefined when user stacks were not captured. */
  user(pid: number, id: number): FlameFrame[] | undefined {
    if (!this.o.user) return undefined;
    if (id === this.o.missedId) return [{ name: MISSED_USER_FRAME }];
    if (id < 0) return [];
    const cacheKey = `${pid}:${id}`;
    let names = this.userCache.get(cacheKey);
    if (!names) {
      const ips = this.addresses(id, this.o.userStacks ?? this.o.stacks);
      // a stack the unwinder could not complete ends in a mark, shown as a frame of its own
      const cut = ips.length > 0 && ips[ips.length - 1] === UNWIND_INCOMPLETE_PC && this.o.userStacks !== undefined;
      names = this.symbolizer.userStack(pid, cut ? ips.slice(0, -1) : ips).map(flameFrame);
      if (cut) names.push({ name: INCOMPLETE_USER_FRAME });
      this.userCache.set(cacheKey, names);
    }
    return names;
  }

  /** Forget the maps of processes that exited (their named stacks stay named). */
  prune(): void {
    this.symbolizer.user.prune();
  }

  /**
   * Forget the kernel names by id: a stack map reused after its entries were deleted (a tool that
   * clears it between intervals) gives old ids to new stacks.
   */
  forgetIds(): void {
    this.kernelCache = new Map();
    this.userCache.clear();
  }
}

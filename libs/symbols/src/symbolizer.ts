/**
 * Kernel and user stacks of BPF stack maps → frames. Kernel symbols load on first use; user
 * stacks are named per process while it lives (see UserSymbolizer).
 */
import { type Frame } from './frame.js';
import { bpfFramesOnTop, KernelSymbols } from './kernel.js';
import { UserSymbolizer, type UserSymbolizerOptions } from './user.js';

export interface SymbolizerOptions extends UserSymbolizerOptions {
  /** the kallsyms file (default /proc/kallsyms) */
  kallsyms?: string;
  /** drop the BPF program's own frames at the top of kernel stacks (default true) */
  dropBpfFrames?: boolean;
}

export class Symbolizer {
  readonly user: UserSymbolizer;
  private kernelSyms: KernelSymbols | undefined;

  constructor(private readonly opts: SymbolizerOptions = {}) {
    this.user = new UserSymbolizer(opts);
  }

  /** The kernel's symbols (read once); `.hidden` says why they cannot be named, if so. */
  kernel(): KernelSymbols {
    this.kernelSyms ??= KernelSymbols.load(this.opts.kallsyms);
    return this.kernelSyms;
  }

  /** Name a kernel stack (leaf first); frames that cannot be named are `[kernel]` frames with their address. */
  kernelStack(ips: readonly bigint[]): Frame[] {
    const k = this.kernel();
    const frames: Frame[] = ips.map((ip) => {
      const hit = k.lookup(ip);
      return hit ? { ip, name: hit.name, offset: hit.offset, module: '[kernel]' } : { ip, module: '[kernel]', moduleOffset: ip };
    });
    if (this.opts.dropBpfFrames === false) return frames;
    const drop = bpfFramesOnTop(frames.map((f) => f.name));
    // a stack made only of BPF frames keeps them: an empty stack would hide that it was taken
    return drop < frames.length ? frames.slice(drop) : frames;
  }

  userStack(pid: number, ips: readonly bigint[]): Frame[] {
    return this.user.symbolize(pid, ips);
  }
}

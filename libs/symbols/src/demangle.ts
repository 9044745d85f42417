/**
 * C++ names made readable by the C++ runtime's own demangler: `__cxa_demangle` of libstdc++
 * (libstdc++.so.6, on every machine where g++-built programs run), called through koffi.
 * Nothing is loaded until a name that looks mangled (`_Z…`) is asked for; each name is demangled
 * once and remembered. Without libstdc++ (or koffi) names stay as they are: no error, and
 * `unavailable` says why (once, through the `log` callback, for -v).
 */
import { createRequire } from 'node:module';
import type Koffi from 'koffi';

type CxaDemangle = (mangled: string, buf: null, len: null, status: [number]) => string | null;

const bound = new Map<string, CxaDemangle | Error>();

/** Bind __cxa_demangle of `library` once per process. */
function bind(library: string): CxaDemangle | Error {
  let fn = bound.get(library);
  if (fn) return fn;
  try {
    let koffi: typeof Koffi;
    try {
      koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    } catch (e) {
      throw new Error(`koffi could not be loaded (${(e as Error).message.split('\n')[0]}): C++ names stay mangled`);
    }
    let cxx: ReturnType<typeof koffi.load>;
    try {
      cxx = koffi.load(library);
    } catch {
      throw new Error(`${library} not found: C++ names stay mangled (install libstdc++6 to demangle them)`);
    }
    const free = koffi.load('libc.so.6').func('void free(void *p)');
    // the demangler's buffer is malloc'ed: koffi copies it into a JS string, then hands it to libc's
    // free. An anonymous type (koffi's type names are global: a second copy of this module, ESM
    // beside CommonJS, must not collide with the first)
    const demangled = koffi.disposable('const char *', free);
    fn = cxx.func('__cxa_demangle', demangled, ['const char *', 'void *', 'void *', koffi.out(koffi.pointer('int'))]) as CxaDemangle;
  } catch (e) {
    fn = e instanceof Error ? e : new Error(String(e));
  }
  bound.set(library, fn);
  return fn;
}

/** Whether a symbol name is an Itanium C++ ABI mangled name (what g++ and clang++ emit on Linux). */
export function isMangled(name: string): boolean {
  return name.length > 2 && name.charCodeAt(0) === 0x5f /* _ */ && name.charCodeAt(1) === 0x5a /* Z */;
}

export interface DemanglerOptions {
  /** told once why names cannot be demangled (for a tool's -v) */
  log?: (message: string) => void;
  /** the C++ runtime to load (default 'libstdc++.so.6') */
  library?: string;
}

export class Demangler {
  private readonly cache = new Map<string, string>();
  private fn: CxaDemangle | undefined;
  private reason: string | undefined;
  private said = false;

  constructor(private readonly opts: DemanglerOptions = {}) {}

  /** Why names stay mangled (libstdc++ could not be loaded), or undefined; known once a mangled name was seen. */
  get unavailable(): string | undefined {
    return this.reason;
  }

  /** The readable form of a mangled C++ name; any other name (C, kernel, JIT), or one the demangler rejects, as given. */
  demangle(name: string): string {
    if (!isMangled(name)) return name;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    let out = name;
    const fn = this.load();
    if (fn) {
      const status: [number] = [0];
      const r = fn(name, null, null, status);
      if (status[0] === 0 && r) out = r;
    }
    this.cache.set(name, out);
    return out;
  }

  private load(): CxaDemangle | undefined {
    if (this.fn || this.reason !== undefined) return this.fn;
    const b = bind(this.opts.library ?? 'libstdc++.so.6');
    if (b instanceof Error) {
      this.reason = b.message;
      if (!this.said) {
        this.said = true;
        this.opts.log?.(this.reason);
      }
      return undefined;
    }
    this.fn = b;
    return b;
  }
}

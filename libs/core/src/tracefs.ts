/**
 * Where tracefs is, mounting it when it is not (as root), and which tracepoints exist. What was
 * found is kept in a Tracefs (one per root); a BpfObject takes one as an option (else it makes its
 * own), and the functions below ask a new one each time.
 */
import { readFileSync, statSync } from 'node:fs';
import { PreflightError } from './errors.js';
import { errno, libbpf } from './ffi.js';
import { errnoName } from './errno.js';

const ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/**
 * stat(2), not access(2) (existsSync): access() checks with the real UID and, for one that is not
 * root, without capabilities, so a service user with CAP_DAC_READ_SEARCH (the exporter's systemd
 * unit) would not see the root-only tracefs it can in fact read.
 */
const existsSync = (p: string): boolean => statSync(p, { throwIfNoEntry: false }) !== undefined;

export class Tracefs {
  private found: string | undefined;
  private events: Set<string> | undefined;

  /** `root`: a fixed tracefs root (tests); without it, the usual places are searched. */
  constructor(private readonly fixedRoot?: string) {
    this.found = fixedRoot;
  }

  root(): string | undefined {
    if (this.found) return this.found;
    if (this.fixedRoot === undefined) this.found = ROOTS.find((r) => existsSync(`${r}/events`));
    return this.found;
  }

  /** Make sure tracefs is reachable; mount it at /sys/kernel/tracing when we may. */
  ensure(): string {
    const found = this.root();
    if (found) return found;
    if (process.geteuid?.() !== 0) {
      throw new PreflightError('tracefs is not mounted: mount it as root (mount -t tracefs nodev /sys/kernel/tracing)');
    }
    const rc = libbpf().mount('nodev', ROOTS[0], 'tracefs', 0, null);
    if (rc !== 0 || !existsSync(`${ROOTS[0]}/events`)) {
      const e = rc !== 0 ? errnoName(errno()) : 'no events directory';
      throw new PreflightError(`tracefs is not mounted and mounting it failed (${e}): mount -t tracefs nodev /sys/kernel/tracing`);
    }
    this.found = ROOTS[0];
    return this.found;
  }

  /** Does the tracepoint category/name exist on this kernel? */
  tracepointExists(category: string, name: string): boolean {
    const r = this.root();
    return r !== undefined && existsSync(`${r}/events/${category}/${name}`);
  }

  /**
   * Does a tracepoint called `name` exist in any category (for raw_tp and tp_btf)? When the list
   * of events cannot be read (no tracefs, or available_events unreadable) the answer is yes, every
   * time, and attach decides; only a list that was read is kept.
   */
  rawTracepointExists(name: string): boolean {
    if (!this.events) {
      const r = this.root();
      if (!r) return true;
      let text: string;
      try {
        text = readFileSync(`${r}/available_events`, 'utf8');
      } catch {
        return true; /* unreadable now: ask again next time */
      }
      this.events = new Set();
      for (const line of text.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) this.events.add(line.slice(i + 1));
      }
    }
    return this.events.has(name);
  }
}

/**
 * The system's tracefs, looked up afresh for each call (nothing is kept for the process: a caller
 * asking several questions keeps a Tracefs of its own, as a BpfObject does).
 */
export function tracefsRoot(): string | undefined {
  return new Tracefs().root();
}

export function ensureTracefs(): string {
  return new Tracefs().ensure();
}

export function tracepointExists(category: string, name: string): boolean {
  return new Tracefs().tracepointExists(category, name);
}

export function rawTracepointExists(name: string): boolean {
  return new Tracefs().rawTracepointExists(name);
}

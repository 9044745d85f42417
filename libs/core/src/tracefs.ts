/** Where tracefs is, mounting it when it is not (as root), and which tracepoints exist. */
import { existsSync, readFileSync } from 'node:fs';
import { PreflightError } from './errors.js';
import { errno, libbpf } from './ffi.js';
import { errnoName } from './errno.js';

const ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
let root: string | undefined;
let events: Set<string> | undefined;

export function tracefsRoot(): string | undefined {
  if (root) return root;
  root = ROOTS.find((r) => existsSync(`${r}/events`));
  return root;
}

/** Make sure tracefs is reachable; mount it at /sys/kernel/tracing when we may. */
export function ensureTracefs(): string {
  const found = tracefsRoot();
  if (found) return found;
  if (process.geteuid?.() !== 0) {
    throw new PreflightError('tracefs is not mounted: mount it as root (mount -t tracefs nodev /sys/kernel/tracing)');
  }
  const rc = libbpf().mount('nodev', ROOTS[0], 'tracefs', 0, null);
  if (rc !== 0 || !existsSync(`${ROOTS[0]}/events`)) {
    const e = rc !== 0 ? errnoName(errno()) : 'no events directory';
    throw new PreflightError(`tracefs is not mounted and mounting it failed (${e}): mount -t tracefs nodev /sys/kernel/tracing`);
  }
  root = ROOTS[0];
  return root;
}

/** Does the tracepoint category/name exist on this kernel? */
export function tracepointExists(category: string, name: string): boolean {
  const r = tracefsRoot();
  return r !== undefined && existsSync(`${r}/events/${category}/${name}`);
}

/**
 * Does a tracepoint called `name` exist in any category (for raw_tp and tp_btf)? When the list
 * of events cannot be read (no tracefs, or available_events unreadable) the answer is yes, every
 * time, and attach decides; only a list that was read is kept.
 */
export function rawTracepointExists(name: string): boolean {
  if (!events) {
    const r = tracefsRoot();
    if (!r) return true;
    let text: string;
    try {
      text = readFileSync(`${r}/available_events`, 'utf8');
    } catch {
      return true; /* unreadable now: ask again next time */
    }
    events = new Set();
    for (const line of text.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) events.add(line.slice(i + 1));
    }
  }
  return events.has(name);
}

/** Use another tracefs root (tests), forgetting what was read from the previous one. */
export function setTracefsRoot(path: string | undefined): void {
  root = path;
  events = undefined;
}

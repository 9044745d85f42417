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

/** Does a tracepoint called `name` exist in any category (for raw_tp and tp_btf)? */
export function rawTracepointExists(name: string): boolean {
  if (!events) {
    events = new Set();
    const r = tracefsRoot();
    if (r) {
      try {
        for (const line of readFileSync(`${r}/available_events`, 'utf8').split('\n')) {
          const i = line.indexOf(':');
          if (i > 0) events.add(line.slice(i + 1));
        }
      } catch { /* unreadable: assume present and let attach decide */ return true; }
    }
  }
  return events.has(name);
}

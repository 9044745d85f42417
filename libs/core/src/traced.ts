/**
 * `TOOL -- COMMAND` in the kernel (recipes_traced.h, which every object carries): the set of traced
 * processes, its three programs and the config that makes every filter require it. Kept here, beside
 * the loader, so that nothing above core names these maps and programs.
 */
import type { BpfObject } from './object.js';

const MAP = 'recipes_traced';
const FORK = 'recipes_traced_fork';
const EXEC = 'recipes_traced_exec';
const EXIT = 'recipes_traced_exit';
/** recipes_traced.h's states */
const HELD = 1;
const ON = 2;
/** processes one command may have at once (the map's size while a command is traced) */
export const MAX_TRACED_PROCESSES = 32768;

/** Does this object carry recipes_traced.h (every object that includes recipes.h does)? */
export function hasTraced(obj: BpfObject): boolean {
  return obj.programs.some((p) => p.name === EXEC);
}

/**
 * Before load: load the programs that keep the set (the fork program only when children are
 * followed) and make room in the map. The filter itself is turned on by recipesConfig({ tracedOnly }).
 */
export function armTraced(obj: BpfObject, follow: boolean): void {
  obj.setAutoload(EXEC, true);
  obj.setAutoload(EXIT, true);
  obj.setAutoload(FORK, follow);
  obj.setMaxEntries(MAP, MAX_TRACED_PROCESSES);
}

/**
 * After load, before anything else is attached and whatever the tool attaches by hand: the
 * programs that keep the set. Returns their names.
 */
export function attachTraced(obj: BpfObject): string[] {
  const names = [EXIT, EXEC, FORK].filter((n) => obj.autoload(n));
  for (const n of names) obj.attach(n);
  return names;
}

const key = (tgid: number) => {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(tgid);
  return k;
};
const state = (s: number) => {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(s);
  return v;
};

/** After load: this process (held before its exec) is the command; its next exec turns it on. */
export function holdTraced(obj: BpfObject, tgid: number): void {
  obj.map(MAP).update(key(tgid), state(HELD));
}

/** After load, for an object opened once the command runs: the processes traced so far. */
export function copyTraced(from: BpfObject, to: BpfObject): void {
  const dst = to.map(MAP);
  for (const [k, v] of from.map(MAP).entries()) dst.update(k, v);
}

/** The traced processes (the tool's PID namespace's tgids), the held one included. */
export function tracedTgids(obj: BpfObject): number[] {
  return [...obj.map(MAP).keys()].map((k) => k.readUInt32LE(0));
}

/** Has every traced process exited? (one syscall) */
export function tracedEmpty(obj: BpfObject): boolean {
  return obj.map(MAP).keys().next().done === true;
}

export const TRACED_STATE = { HELD, ON } as const;

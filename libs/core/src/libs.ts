/**
 * Finding the ELF file a uprobe goes on: a shared library of the system (by soname prefix,
 * e.g. "libc.so.6" or "libssl.so"), or the one a process really has mapped — under
 * /proc/PID/root, so that a container's own libc is the one probed.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';

const LIB_DIRS = [
  '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu',
  '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib',
];

const matches = (file: string, prefix: string) => {
  const b = basename(file);
  return b === prefix || b.startsWith(prefix.endsWith('.so') ? prefix + '.' : prefix + '.') || b.startsWith(prefix + '-');
};

/**
 * The system's libraries as the dynamic linker's cache lists them (`ldconfig -p`), read once per
 * SystemLibraries: a tool resolving several names shares one; a later lookup with a new one sees
 * libraries installed since.
 */
export class SystemLibraries {
  private paths: string[] | undefined;

  /** every path the cache lists */
  list(): string[] {
    if (this.paths) return this.paths;
    const paths: string[] = [];
    // child_process (and the stream and socket modules behind it) is loaded only by the tools that look for libraries
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
      try {
        const out = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        for (const line of out.split('\n')) {
          const m = /=>\s*(\S+)$/.exec(line);
          if (m) paths.push(m[1]);
        }
        break;
      } catch { /* try the next */ }
    }
    return (this.paths = paths);
  }
}

/** The system's copy of a library, resolved to its real path; undefined when absent. */
export function findSystemLibrary(prefix: string, libs: SystemLibraries = new SystemLibraries()): string | undefined {
  const fromCache = libs.list().find((p) => matches(p, prefix) && existsSync(p));
  if (fromCache) return realpathSync(fromCache);
  for (const d of LIB_DIRS) {
    const p = `${d}/${prefix}`;
    if (existsSync(p)) return realpathSync(p);
  }
  return undefined;
}

/** Paths of the files a process has mapped (as the process sees them). */
export function mappedFiles(pid: number): string[] {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const seen = new Set<string>();
  for (const line of maps.split('\n')) {
    const i = line.indexOf('/');
    if (i > 0 && !line.endsWith('(deleted)')) seen.add(line.slice(i));
  }
  return [...seen];
}

/**
 * The library a process has mapped, as a path this (host) process can open:
 * /proc/PID/root/<path in the process's mount namespace>.
 */
export function findProcessLibrary(pid: number, prefix: string): string | undefined {
  const p = mappedFiles(pid).find((f) => matches(f, prefix));
  return p ? `/proc/${pid}/root${p}` : undefined;
}

/** The executable of a process, as a path this process can open. */
export function processExecutable(pid: number): string | undefined {
  const p = `/proc/${pid}/exe`;
  return existsSync(p) ? p : undefined;
}

/** The file a PATH lookup finds for `name` (a name with a slash is itself), or undefined. */
function lookPath(name: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of path.split(':')) {
    const f = `${dir || '.'}/${name}`;
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * What a command will map when it runs, before it runs: the program the kernel loads (a script's
 * interpreter, after `#!`, through `env` too) and the shared libraries the dynamic loader gives it
 * (ldd, with this environment: RPATH, RUNPATH and LD_LIBRARY_PATH as the command will have them),
 * as real paths, each library with the name the program asks for it by (its soname); `libraries`
 * is empty for a program that is not dynamically linked.
 */
export function commandFiles(command: string): { program: string; libraries: { soname: string; path: string }[] } | undefined {
  let program = lookPath(command);
  for (let depth = 0; program && depth < 4; depth++) {
    let head = '';
    try {
      head = readFileSync(program).subarray(0, 256).toString('latin1');
    } catch {
      return undefined;
    }
    if (!head.startsWith('#!')) break;
    const [interp, arg] = head.slice(2).split('\n')[0].trim().split(/\s+/);
    program = basename(interp ?? '') === 'env' && arg ? lookPath(arg) : interp;
  }
  if (!program || !existsSync(program)) return undefined;
  const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  let out = '';
  try {
    out = execFileSync('ldd', [program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* not dynamically linked (or no ldd): the program alone */
  }
  const libraries: { soname: string; path: string }[] = [];
  for (const line of out.split('\n')) {
    // "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x...)", or the loader: "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /^\s*(\S+)\s+(?:=>\s*(\/\S+)\s+)?\(0x/.exec(line);
    const path = m && (m[2] ?? (m[1].startsWith('/') ? m[1] : undefined));
    if (m && path && existsSync(path)) libraries.push({ soname: basename(m[1]), path: realpathSync(path) });
  }
  return { program: realpathSync(program), libraries };
}

/** The library among a command's (commandFiles()) whose soname is `prefix` (as findSystemLibrary takes it). */
export function libraryAmong(libraries: readonly { soname: string; path: string }[], prefix: string): string | undefined {
  return libraries.find((l) => matches(l.soname, prefix))?.path;
}

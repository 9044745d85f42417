/**
 * Names of stripped files from elsewhere than their own .symtab:
 *   - MiniDebugInfo: a `.gnu_debugdata` section holding an xz-compressed ELF file whose .symtab has
 *     the function symbols .dynsym lacks (Fedora's and some Debian binaries), as gdb reads it;
 *   - debuginfod, when DEBUGINFOD_URLS is set (space-separated servers, as elfutils and gdb take
 *     them): GET SERVER/buildid/BUILDID/debuginfo, kept in the debuginfod client cache that gdb
 *     and elfutils share ($DEBUGINFOD_CACHE_PATH, else $XDG_CACHE_HOME/debuginfod_client, else
 *     ~/.cache/debuginfod_client; BUILDID/debuginfo). A build-id no server has is remembered there
 *     as an empty file for 10 minutes (elfutils' default), a server that does not answer within
 *     DEBUGINFOD_TIMEOUT seconds (default 10), or cannot be reached, is not asked again by this
 *     process, nor by the next runs for 10 minutes (a mark in the cache: .bpf-recipes-down/), so a
 *     server without network pays one timeout in ten minutes, at naming time, never at start-up.
 *     Nothing is fetched when DEBUGINFOD_URLS is unset or empty.
 *
 * On by default when DEBUGINFOD_URLS is set, as elfutils' tools and perf do: Debian sets it system-
 * wide only when the administrator said yes to libdebuginfod-common's question (its
 * /etc/profile.d/debuginfod.sh), and a user sets it on purpose. gdb asks first when it is
 * interactive, and in batch mode (gdb -batch) fetches nothing unless `set debuginfod enabled on`;
 * a tracer is batch work, but its user cannot answer a question mid-trace, and the variable is the
 * opt-in: DEBUGINFOD_URLS= (empty) turns it off for one run.
 */
import { existsSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runBlocking, xzDecompress } from './blocking.js';
import { ElfFile, type ElfSymbol } from './elf.js';

/** The function symbols of `elf`'s MiniDebugInfo (undefined: it has none; throws when it cannot be read). */
export function miniDebugInfoSymbols(elf: ElfFile): ElfSymbol[] | undefined {
  const s = elf.section('.gnu_debugdata');
  if (!s || s.size === 0n) return undefined;
  const inner = ElfFile.fromBuffer(xzDecompress(elf.sectionData(s)), `${elf.path} (.gnu_debugdata)`);
  return inner.functionSymbols('symtab');
}

/** How long a build-id no server has is remembered (elfutils' cache_miss_s default). */
const MISS_KEEP_MS = 600_000;
/** How long a server that did not answer is left alone by the next runs too. */
export const DOWN_KEEP_MS = 600_000;

export interface DebuginfodOptions {
  /** the servers (DEBUGINFOD_URLS split) */
  urls: readonly string[];
  /** the cache directory */
  cache: string;
  /** seconds without an answer (or a byte of one) after which a server is given up */
  timeoutS: number;
  log?: (message: string) => void;
}

/** A debuginfod client for the debug files of stripped ELF files, by build-id. */
export class Debuginfod {
  private readonly dead = new Set<string>();
  private readonly tried = new Map<string, string | undefined>();

  constructor(readonly o: DebuginfodOptions) {}

  /**
   * The client of the environment's DEBUGINFOD_URLS (http and https servers), or undefined when it
   * names none: then nothing is ever fetched.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, log?: (message: string) => void): Debuginfod | undefined {
    const urls = (env.DEBUGINFOD_URLS ?? '')
      .split(/\s+/)
      .filter((u) => /^https?:\/\/./.test(u))
      .map((u) => u.replace(/\/+$/, ''));
    if (!urls.length) return undefined;
    const t = Number(env.DEBUGINFOD_TIMEOUT);
    return new Debuginfod({ urls, cache: debuginfodCache(env), timeoutS: Number.isFinite(t) && t > 0 ? t : 10, ...(log ? { log } : {}) });
  }

  /** The path of the debug file of `buildId` in the cache, fetched first if needed; undefined when no server has it. */
  debugFile(buildId: string): string | undefined {
    if (!/^[0-9a-f]{2,}$/.test(buildId)) return undefined;
    if (this.tried.has(buildId)) return this.tried.get(buildId);
    const found = this.find(buildId);
    this.tried.set(buildId, found);
    return found;
  }

  private find(buildId: string): string | undefined {
    const dir = join(this.o.cache, buildId);
    const file = join(dir, 'debuginfo');
    const cached = statOf(file);
    if (cached && cached.size > 0) return file;
    if (cached && Date.now() - cached.mtimeMs < MISS_KEEP_MS) return undefined; // no server had it, a moment ago
    const servers = this.o.urls.filter((u) => !this.dead.has(u) && !this.downLately(u));
    if (!servers.length) return undefined;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      this.o.log?.(`debuginfod: cannot make ${dir}: ${(e as Error).message}`);
      return undefined;
    }
    let missing = true;
    for (const url of servers) {
      const t0 = Date.now();
      const ms = this.o.timeoutS * 1000;
      try {
        const r = runBlocking<{ status: number; bytes: number }>('fetch', { url: `${url}/buildid/${buildId}/debuginfo`, file, stallMs: ms }, ms + 2000);
        if (r.status === 200) {
          if (sameBuildId(file, buildId)) {
            this.o.log?.(`debuginfod: ${buildId} from ${url} (${Math.ceil(r.bytes / 1024)} KiB, ${Date.now() - t0} ms)`);
            return file;
          }
          this.o.log?.(`debuginfod: ${url} sent a file for ${buildId} that is not its debug file: left out`);
          rmSync(file, { force: true });
        } else if (r.status !== 404) {
          missing = false; // a server error says nothing about the file: not remembered as missing
          this.o.log?.(`debuginfod: ${url}: HTTP ${r.status} for ${buildId}`);
        }
      } catch (e) {
        missing = false;
        this.dead.add(url);
        this.markDown(url);
        this.o.log?.(`debuginfod: ${url}: ${(e as Error).message} (not asked again)`);
      }
    }
    if (missing) {
      try {
        writeFileSync(file, '');
      } catch {
        /* not remembered: asked again next time */
      }
    }
    return undefined;
  }

  /** The mark of a server that did not answer (in the cache, for the next runs). */
  downMark(url: string): string {
    return join(this.o.cache, '.bpf-recipes-down', createHash('sha1').update(url).digest('hex'));
  }

  private markDown(url: string): void {
    try {
      mkdirSync(join(this.o.cache, '.bpf-recipes-down'), { recursive: true });
      writeFileSync(this.downMark(url), `${url}\n`);
      const now = new Date();
      utimesSync(this.downMark(url), now, now);
    } catch {
      /* not remembered: the next run asks it again */
    }
  }

  /** A server an earlier run (or this one) found not answering within DOWN_KEEP_MS: not asked (said once under -v). */
  private downLately(url: string): boolean {
    if (this.dead.has(url)) return true;
    const mark = statOf(this.downMark(url));
    if (!mark || Date.now() - mark.mtimeMs >= DOWN_KEEP_MS) return false;
    this.dead.add(url);
    const left = Math.ceil((DOWN_KEEP_MS - (Date.now() - mark.mtimeMs)) / 60000);
    this.o.log?.(`debuginfod: ${url} did not answer a run ${Math.floor((Date.now() - mark.mtimeMs) / 1000)} s ago: not asked for ${left} more min (rm ${this.downMark(url)} to ask now)`);
    return true;
  }
}

/** The debuginfod client cache directory elfutils and gdb use. */
export function debuginfodCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEBUGINFOD_CACHE_PATH) return env.DEBUGINFOD_CACHE_PATH;
  const xdg = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(xdg, 'debuginfod_client');
}

function statOf(p: string): { size: number; mtimeMs: number } | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

export function sameBuildId(path: string, id: string): boolean {
  if (!existsSync(path)) return false;
  try {
    const f = ElfFile.open(path);
    try {
      return f.buildId() === id;
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

// Names of stripped binaries from MiniDebugInfo (.gnu_debugdata, made here with binutils and xz as
// distributions make it) and from a debuginfod server (a local one this test runs), checked
// against nm of the unstripped binary; the debuginfod client cache, its remembered misses, its
// timeout, and that nothing is fetched without DEBUGINFOD_URLS.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMiniDebugInfo, startDebuginfod, type DebuginfodServer } from '@bpf-recipes/testing';
import { Debuginfod, debuginfodCache, DOWN_KEEP_MS, ElfFile, ElfModule, xzDecompress } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const FUNCS = ['recipe_alpha', 'recipe_beta', 'recipe_gamma', 'recipe_static_helper'];

let dir: string;
const bin: Record<string, string> = {};

function nm(path: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of execFileSync('nm', [path], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) [tT] (recipe_\w+)$/.exec(line);
    if (m) out.set(m[2], BigInt('0x' + m[1]));
  }
  return out;
}

/** The name `path`'s symbols give each fixture function's address (+1, inside it). */
function named(mod: ElfModule, addrs: Map<string, bigint>): Record<string, string | undefined> {
  return Object.fromEntries(FUNCS.map((f) => [f, mod.lookupVaddr(addrs.get(f)! + 1n)?.name]));
}

const want = Object.fromEntries(FUNCS.map((f) => [f, f]));
const none = Object.fromEntries(FUNCS.map((f) => [f, undefined]));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-debuginfo-'));
  bin.full = join(dir, 'chain');
  execFileSync('gcc', ['-O1', '-fno-inline', '-g', '-Wl,--build-id', '-o', bin.full, join(here, 'fixtures', 'chain.c')]);
  bin.mini = join(dir, 'chain-mini');
  makeMiniDebugInfo(bin.full, bin.mini);
  bin.stripped = join(dir, 'chain-stripped');
  execFileSync('strip', ['--strip-all', '-o', bin.stripped, bin.full]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MiniDebugInfo', () => {
  it('a binary whose function names live only in its .gnu_debugdata is named as nm names the unstripped one', () => {
    const addrs = nm(bin.full);
    expect([...addrs.keys()].sort()).toEqual([...FUNCS].sort());
    // the fixture really is stripped: nm finds nothing, and without .gnu_debugdata nothing is named
    expect(execFileSync('nm', [bin.mini], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
    const plain = ElfModule.load(bin.stripped);
    expect(named(plain, addrs)).toEqual(none);
    expect(plain.source).toBe('dynsym');
    const mod = ElfModule.load(bin.mini);
    expect(mod.source).toBe('minidebuginfo');
    expect(named(mod, addrs)).toEqual(want);
  });

  it('the section is an xz stream holding an ELF file; a corrupt one is said under -v and leaves the names of .dynsym', () => {
    const f = ElfFile.open(bin.mini);
    const data = f.sectionData(f.section('.gnu_debugdata')!);
    f.close();
    expect(data.subarray(0, 6)).toEqual(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    expect(xzDecompress(data).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(() => xzDecompress(Buffer.from('not xz at all'))).toThrow();
    const bad = join(dir, 'chain-bad-mini');
    writeFileSync(join(dir, 'garbage.xz'), Buffer.concat([data.subarray(0, 12), Buffer.alloc(64, 0x41)]));
    execFileSync('objcopy', ['--add-section', `.gnu_debugdata=${join(dir, 'garbage.xz')}`, bin.stripped, bad]);
    const said: string[] = [];
    const mod = ElfModule.load(bad, bad, { log: (m) => said.push(m) });
    expect(mod.source).toBe('dynsym');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/MiniDebugInfo \(\.gnu_debugdata\) cannot be read/);
  });
});

describe('debuginfod', () => {
  let server: DebuginfodServer;
  let buildId: string;
  beforeAll(async () => {
    server = await startDebuginfod();
    const f = ElfFile.open(bin.full);
    buildId = f.buildId()!;
    f.close();
    expect(buildId).toMatch(/^[0-9a-f]{40}$/);
    server.add(buildId, bin.full);
  });
  afterAll(() => server?.close());

  const env = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: cache, HOME: '/nonexistent', ...extra });

  it('without DEBUGINFOD_URLS (unset or empty) nothing is fetched and no cache is made', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const before = (await server.requests()).length;
    for (const e of [env(cache), env(cache, { DEBUGINFOD_URLS: '' }), env(cache, { DEBUGINFOD_URLS: '  ' })]) {
      expect(Debuginfod.fromEnv(e)).toBeUndefined();
      const mod = ElfModule.load(bin.stripped, bin.stripped, { debuginfod: Debuginfod.fromEnv(e) });
      expect(named(mod, nm(bin.full))).toEqual(none);
    }
    expect((await server.requests()).length).toBe(before);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('with DEBUGINFOD_URLS: the debug file fetched by build-id into the client cache, names as nm; a second client reads the cache', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const e = env(cache, { DEBUGINFOD_URLS: `${server.url}/` });
    expect(debuginfodCache(e)).toBe(join(cache, 'debuginfod_client'));
    const said: string[] = [];
    const client = Debuginfod.fromEnv(e, (m) => said.push(m))!;
    const before = (await server.requests()).length;
    const mod = ElfModule.load(bin.stripped, bin.stripped, { debuginfod: client });
    expect(mod.source).toBe('debuginfod');
    expect(named(mod, nm(bin.full))).toEqual(want);
    const cached = join(cache, 'debuginfod_client', buildId, 'debuginfo');
    expect(mod.debugFile).toBe(cached);
    expect(statSync(cached).size).toBe(statSync(bin.full).size);
    expect((await server.requests()).slice(before)).toEqual([`/buildid/${buildId}/debuginfo`]);
    expect(said.join('\n')).toMatch(new RegExp(`^debuginfod: ${buildId} from ${server.url} \\(\\d+ KiB, \\d+ ms\\)$`));
    // a new process: from the cache, the server not asked
    const again = ElfModule.load(bin.stripped, bin.stripped, { debuginfod: Debuginfod.fromEnv(e) });
    expect(named(again, nm(bin.full))).toEqual(want);
    expect((await server.requests()).length).toBe(before + 1);
    // DEBUGINFOD_CACHE_PATH names the cache itself
    expect(debuginfodCache({ DEBUGINFOD_CACHE_PATH: '/x/y', XDG_CACHE_HOME: cache })).toBe('/x/y');
    expect(debuginfodCache({ HOME: '/home/u' })).toBe('/home/u/.cache/debuginfod_client');
  });

  it('a build-id no server has: asked once, remembered as missing (an empty file) for the next clients', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const other = join(dir, 'other');
    // another build-id: the same program linked again with a different build-id
    execFileSync('gcc', ['-O1', '-Wl,--build-id=0x' + 'ab'.repeat(20), '-o', other, join(here, 'fixtures', 'chain.c')]);
    execFileSync('strip', ['--strip-all', other]);
    const e = env(cache, { DEBUGINFOD_URLS: server.url });
    const before = (await server.requests()).length;
    for (let i = 0; i < 2; i++) {
      const mod = ElfModule.load(other, other, { debuginfod: Debuginfod.fromEnv(e) });
      expect(mod.source).toBe('dynsym');
    }
    expect((await server.requests()).slice(before)).toEqual([`/buildid/${'ab'.repeat(20)}/debuginfo`]);
    expect(statSync(join(cache, 'debuginfod_client', 'ab'.repeat(20), 'debuginfo')).size).toBe(0);
  });

  it('a server that does not answer: given up after DEBUGINFOD_TIMEOUT, not asked again; the next server still is', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const said: string[] = [];
    const e = env(cache, { DEBUGINFOD_URLS: `${server.url}/hang ${server.url}`, DEBUGINFOD_TIMEOUT: '1' });
    const client = Debuginfod.fromEnv(e, (m) => said.push(m))!;
    const before = (await server.requests()).length;
    const t0 = Date.now();
    const mod = ElfModule.load(bin.stripped, bin.stripped, { debuginfod: client });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(named(mod, nm(bin.full))).toEqual(want); // from the second server
    expect(said[0]).toBe(`debuginfod: ${server.url}/hang: no answer for 1 s (not asked again)`);
    // another file: the silent server is not asked again
    const other = join(dir, 'other2');
    execFileSync('gcc', ['-O1', '-Wl,--build-id=0x' + 'cd'.repeat(20), '-o', other, join(here, 'fixtures', 'chain.c')]);
    execFileSync('strip', ['--strip-all', other]);
    ElfModule.load(other, other, { debuginfod: client });
    expect((await server.requests()).slice(before)).toEqual([`/hang/buildid/${buildId}/debuginfo`, `/buildid/${buildId}/debuginfo`, `/buildid/${'cd'.repeat(20)}/debuginfo`]);
    // the partial download of the silent server left nothing behind
    expect(readdirSync(join(cache, 'debuginfod_client', buildId))).toEqual(['debuginfo']);
    expect(existsSync(join(cache, 'debuginfod_client', 'cd'.repeat(20), 'debuginfo'))).toBe(true);
  });

  it('a server that did not answer is left alone by the next runs for 10 minutes (one timeout, not one a run), then asked again', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const e = env(cache, { DEBUGINFOD_URLS: `${server.url}/hang`, DEBUGINFOD_TIMEOUT: '1' });
    const before = (await server.requests()).length;
    const first = Debuginfod.fromEnv(e)!;
    expect(ElfModule.load(bin.stripped, bin.stripped, { debuginfod: first }).source).toBe('dynsym');
    expect((await server.requests()).slice(before)).toEqual([`/hang/buildid/${buildId}/debuginfo`]);
    const mark = first.downMark(`${server.url}/hang`);
    expect(readFileSync(mark, 'utf8')).toBe(`${server.url}/hang\n`);
    // the next run (a new client): not asked, said under -v, the frames keep .dynsym's names
    const said: string[] = [];
    const next = Debuginfod.fromEnv(e, (m) => said.push(m))!;
    expect(ElfModule.load(bin.stripped, bin.stripped, { debuginfod: next }).source).toBe('dynsym');
    expect((await server.requests()).length).toBe(before + 1);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(`^debuginfod: ${server.url}/hang did not answer a run \\d+ s ago: not asked for (10|9) more min \\(rm ${mark} to ask now\\)$`));
    // ten minutes later: asked again
    const old = new Date(Date.now() - DOWN_KEEP_MS - 1000);
    utimesSync(mark, old, old);
    ElfModule.load(bin.stripped, bin.stripped, { debuginfod: Debuginfod.fromEnv(e) });
    expect((await server.requests()).slice(before)).toEqual([`/hang/buildid/${buildId}/debuginfo`, `/hang/buildid/${buildId}/debuginfo`]);
  });

  it('a server that cannot be reached (nothing listens, no such host): given up at once, marked for the next runs', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const said: string[] = [];
    // a port nothing listens on: connection refused; a name that does not resolve (.invalid, RFC 2606)
    const refused = 'http://127.0.0.1:9';
    const nohost = 'http://debuginfod.invalid';
    const client = Debuginfod.fromEnv(env(cache, { DEBUGINFOD_URLS: `${refused} ${nohost}`, DEBUGINFOD_TIMEOUT: '30' }), (m) => said.push(m))!;
    expect(ElfModule.load(bin.stripped, bin.stripped, { debuginfod: client }).source).toBe('dynsym');
    expect(said.filter((l) => l.endsWith('(not asked again)'))).toHaveLength(2);
    expect(existsSync(client.downMark(refused))).toBe(true);
    expect(existsSync(client.downMark(nohost))).toBe(true);
  });
});

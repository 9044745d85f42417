// Part "symbolize" of npm run bench (BENCH_ONLY=symbolize): how long libs/symbols takes to name a
// 10k-stack profile, cold (a fresh process: nothing read yet) and warm (the same Symbolizer again),
// side by side with independent symbolizers on the same user addresses (binutils' addr2line, one
// batch per module; llvm-symbolizer, one batch for all).
//
// The profile is made from a real process: a running `node` (the Node.js running the bench: a large
// C++ binary with libc and libstdc++ mapped). Its functions come from nm (not from our ELF reader),
// its load addresses from /proc/PID/maps and readelf; kernel functions from /proc/kallsyms. Each
// stack has 20–40 frames (6–14 kernel, 14–26 user, leaf first: sometimes libc/libstdc++ frames
// under node's), drawn with a skewed (Zipf-like) popularity over a pool of functions, each function
// with a few call sites — so, as in a real profile, stacks share frames and addresses repeat.
//
// Run alone as `node scripts/bench-symbolize.mjs --worker <input.json> <mode> <names-out>`: the
// timing process (modes: all, user). The bench starts one per measurement, so "cold" is really cold.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const STACKS = 10_000;

/** Deterministic pseudo-random numbers (mulberry32): the same profile on every run of a machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Function symbols with a size, from nm (-D: the dynamic table, for stripped libraries). */
function nmFunctions(path, dynamic) {
  const args = dynamic ? ['-D', '--defined-only', '-S', path] : ['-S', '--defined-only', path];
  const out = [];
  for (const l of execFileSync('nm', args, { encoding: 'utf8', maxBuffer: 512 << 20 }).split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwWi] (\S+)$/.exec(l);
    if (!m) continue;
    const size = Number.parseInt(m[2], 16);
    if (size >= 8) out.push({ vaddr: BigInt('0x' + m[1]), size });
  }
  return out;
}

/** The load bias of a mapped ELF file: its first mapping's start − its first PT_LOAD's page. */
function loadBias(maps, path) {
  const first = maps.find((m) => m.path === path && m.offset === 0n);
  const load = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' })
    .split('\n')
    .find((l) => /^\s+LOAD/.test(l));
  const vaddr = BigInt(load.trim().split(/\s+/)[2]);
  return first.start - (vaddr & ~0xfffn);
}

function readMaps(pid) {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      const [s, e] = f[0].split('-');
      return { start: BigInt('0x' + s), end: BigInt('0x' + e), offset: BigInt('0x' + f[2]), path: f.slice(5).join(' ') };
    });
}

/** A pool of call sites (return addresses) of n functions, picked at random, each with 1–3 sites. */
function sites(funcs, n, rand, toIp) {
  const pool = [];
  for (let i = 0; i < n && funcs.length; i++) {
    const f = funcs[Math.floor(rand() * funcs.length)];
    const k = 1 + Math.floor(rand() * 3);
    const list = [];
    for (let j = 0; j < k; j++) list.push(toIp(f, 1 + Math.floor(rand() * (f.size - 1))));
    pool.push(list);
  }
  return pool;
}

/** Zipf-like pick: index i has weight ~ 1/(i+1). */
function zipf(n, rand) {
  return Math.min(n - 1, Math.floor(Math.exp(rand() * Math.log(n + 1)) - 1));
}

export function makeProfile(pid) {
  const rand = rng(0x5eed);
  const maps = readMaps(pid);
  const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  const modulePath = (re) => maps.find((m) => re.test(m.path))?.path;
  const node = maps.find((m) => m.offset === 0n && m.path && m.path.endsWith('/' + exe.split('/').pop()))?.path ?? exe;
  const libc = modulePath(/\/libc\.so\.6$/);
  const libstdcxx = modulePath(/\/libstdc\+\+\.so\.6[.\d]*$/);
  const modules = [];
  const addModule = (path, dynamic, poolSize) => {
    if (!path) return undefined;
    const bias = loadBias(maps, path);
    const pool = sites(nmFunctions(path, dynamic), poolSize, rand, (f, off) => ({ ip: bias + f.vaddr + BigInt(off), vaddr: f.vaddr + BigInt(off), module: path }));
    modules.push(path);
    return pool;
  };
  const nodePool = addModule(node, false, 3000);
  const libPool = [...(addModule(libc, true, 300) ?? []), ...(addModule(libstdcxx, true, 300) ?? [])];
  // kernel: text symbols of /proc/kallsyms (sized by the next symbol), BPF machinery left out
  const ksyms = readFileSync('/proc/kallsyms', 'latin1')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => (f[1] === 't' || f[1] === 'T') && !/^(bpf_prog_|bpf_trace_run|__bpf_trace_|perf_trace_)/.test(f[2] ?? ''))
    .map((f) => ({ addr: BigInt('0x' + f[0]) }))
    .filter((s) => s.addr !== 0n)
    .sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  const kfuncs = [];
  for (let i = 0; i + 1 < ksyms.length; i++) {
    const size = Number(ksyms[i + 1].addr - ksyms[i].addr);
    if (size >= 8 && size < 1 << 20) kfuncs.push({ addr: ksyms[i].addr, size });
  }
  if (kfuncs.length === 0) throw new Error('/proc/kallsyms shows no addresses (run the bench as root)');
  const kPool = sites(kfuncs, 2000, rand, (f, off) => f.addr + BigInt(off));

  const stacks = [];
  const seen = new Set();
  const pick = (pool) => {
    const s = pool[zipf(pool.length, rand)];
    return s[Math.floor(rand() * s.length)];
  };
  while (stacks.length < STACKS) {
    const nk = 6 + Math.floor(rand() * 9);
    const nu = 14 + Math.floor(rand() * 13);
    const k = Array.from({ length: nk }, () => pick(kPool));
    const nlib = rand() < 0.6 ? 1 + Math.floor(rand() * 3) : 0;
    const u = Array.from({ length: nu }, (_, i) => (i < nlib ? pick(libPool) : pick(nodePool)));
    const key = k.join(',') + '|' + u.map((f) => f.ip).join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    stacks.push({ k, u });
  }
  return { stacks, modules, node };
}

/** The timing process: name every stack through libs/symbols, twice (cold, then warm). */
async function worker(input, mode, namesOut) {
  const root = new URL('..', import.meta.url);
  const { Symbolizer } = await import(new URL('libs/symbols/dist/index.js', root).href);
  const data = JSON.parse(readFileSync(input, 'utf8'));
  const pid = data.pid;
  const stacks = data.stacks.map((s) => ({ k: s.k.map((x) => BigInt('0x' + x)), u: s.u.map((x) => BigInt('0x' + x)) }));
  const sym = new Symbolizer();
  const pass = () => {
    const t0 = process.hrtime.bigint();
    const named = [];
    for (const s of stacks) {
      if (mode === 'all') sym.kernelStack(s.k);
      named.push(sym.userStack(pid, s.u));
    }
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, named };
  };
  const cold = pass();
  const warm = pass();
  if (namesOut) writeFileSync(namesOut, cold.named.flatMap((fs) => fs.map((f) => f.name ?? '')).join('\n') + '\n');
  process.stdout.write(JSON.stringify({ coldMs: cold.ms, warmMs: warm.ms, demangler: sym.user.demangler.unavailable ?? 'libstdc++' }) + '\n');
}

/** The part itself, for scripts/bench.mjs. */
export async function benchSymbolize({ line, raw, reps, work, median, fmt }) {
  line('## 7. Symbolization of a 10k-stack profile (libs/symbols)');
  line();
  const target = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const { stacks, modules, node } = makeProfile(target.pid);
    const frames = stacks.reduce((n, s) => n + s.k.length + s.u.length, 0);
    const userFrames = stacks.reduce((n, s) => n + s.u.length, 0);
    const distinct = new Set(stacks.flatMap((s) => [...s.k, ...s.u.map((f) => f.ip)])).size;
    const input = join(work, 'symbolize-input.json');
    writeFileSync(input, JSON.stringify({ pid: target.pid, stacks: stacks.map((s) => ({ k: s.k.map((x) => x.toString(16)), u: s.u.map((f) => f.ip.toString(16)) })) }));
    line(
      `${STACKS.toLocaleString('en')} distinct stacks of a live \`${node}\` (pid of a process started for it): ${frames.toLocaleString('en')} frames ` +
        `(${(frames - userFrames).toLocaleString('en')} kernel, ${userFrames.toLocaleString('en')} user in ${modules.map((m) => m.split('/').pop()).join(', ')}), ` +
        `${distinct.toLocaleString('en')} distinct addresses; functions from nm and /proc/kallsyms, call sites drawn with a skewed popularity.`,
    );
    line('Ours: each measurement in a fresh Node process (`scripts/bench-symbolize.mjs --worker`); cold = the first pass with a new `Symbolizer`');
    line('(/proc/PID/maps, ELF symbol tables and debug files, kallsyms and libstdc++ read then; the files themselves in the page cache),');
    line('warm = the same stacks again. The peers get the user frames only (neither names kernel addresses from kallsyms), as');
    line('ELF addresses per module already computed from the maps; their time is the wall time of their processes, start to exit,');
    line('which is a cold run for them. Both also read DWARF line tables where there are some (node has a few, libc has libc6-dbg\'s);');
    line('ours reads function symbols only.');
    line();

    const runWorker = (mode, namesOut) => {
      const args = [new URL(import.meta.url).pathname, '--worker', input, mode];
      if (namesOut) args.push(namesOut);
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`bench-symbolize worker failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    };
    const oursNames = join(work, 'symbolize-ours.txt');
    const all = [];
    const user = [];
    for (let r = 0; r < reps; r++) {
      all.push(runWorker('all'));
      user.push(runWorker('user', r === 0 ? oursNames : undefined));
    }

    // the same user addresses, per module, for addr2line; one list for llvm-symbolizer
    const byModule = new Map();
    for (const s of stacks) for (const f of s.u) (byModule.get(f.module) ?? byModule.set(f.module, []).get(f.module)).push(f.vaddr);
    // a peer that needs more than 30 s for one run is run once
    const peerRuns = (fn) => {
      const ms = [];
      let names;
      for (let r = 0; r < reps && !(ms[0] > 30_000); r++) {
        const t0 = process.hrtime.bigint();
        const n = fn();
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        names ??= n;
      }
      return { ms: median(ms), runs: ms, names };
    };
    const order = stacks.flatMap((s) => s.u);
    const addr2line = have('addr2line')
      ? peerRuns(() => {
          const named = new Map();
          for (const [mod, addrs] of byModule) {
            const out = execFileSync('addr2line', ['-f', '-C', '-e', mod], { input: addrs.map((a) => '0x' + a.toString(16)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 512 << 20 }).split('\n');
            addrs.forEach((a, i) => named.set(`${mod}\0${a}`, out[2 * i]));
          }
          return order.map((f) => named.get(`${f.module}\0${f.vaddr}`));
        })
      : undefined;
    const llvm = have('llvm-symbolizer')
      ? peerRuns(() => {
          const text = order.map((f) => `"${f.module}" 0x${f.vaddr.toString(16)}`).join('\n') + '\n';
          const out = execFileSync('llvm-symbolizer', ['--no-inlines', '-f', '-C'], { input: text, encoding: 'utf8', maxBuffer: 512 << 20 });
          // one block per address: function, file:line, blank line
          return out.split('\n\n').filter(Boolean).map((b) => b.split('\n')[0]);
        })
      : undefined;

    const ours = readFileSync(oursNames, 'utf8').split('\n');
    const agree = (peer) => {
      if (!peer) return 'n/a';
      let same = 0;
      order.forEach((_, i) => (ours[i] === peer.names[i] ? same++ : 0));
      return `${fmt((same / order.length) * 100, 1)} %`;
    };
    const m = (xs, k) => median(xs.map((x) => x[k]));
    const rate = (ms) => Math.round((STACKS / ms) * 1000).toLocaleString('en');
    const res = {
      stacks: STACKS,
      frames,
      userFrames,
      distinctAddresses: distinct,
      ours: { allColdMs: m(all, 'coldMs'), allWarmMs: m(all, 'warmMs'), userColdMs: m(user, 'coldMs'), userWarmMs: m(user, 'warmMs'), runs: { all, user } },
      addr2line: addr2line && { ms: addr2line.ms, runs: addr2line.runs },
      llvmSymbolizer: llvm && { ms: llvm.ms, runs: llvm.runs },
      demangler: all[0].demangler,
    };
    raw.symbolize = res;
    const uc = res.ours.userColdMs;
    line(`| symbolizer, frames | cold ms | cold stacks/s | warm ms | warm stacks/s | cold ÷ ours (user, cold) | same name as ours |`);
    line('|---|---:|---:|---:|---:|---:|---:|');
    line(`| ours: kernel + user | ${fmt(res.ours.allColdMs, 0)} | ${rate(res.ours.allColdMs)} | ${fmt(res.ours.allWarmMs, 0)} | ${rate(res.ours.allWarmMs)} | | |`);
    line(`| ours: user | ${fmt(uc, 0)} | ${rate(uc)} | ${fmt(res.ours.userWarmMs, 0)} | ${rate(res.ours.userWarmMs)} | 1.00× | |`);
    const runsOf = (p) => (p.runs.length === reps ? '' : `, ${p.runs.length} run${p.runs.length > 1 ? 's' : ''}`);
    if (addr2line) line(`| binutils addr2line -f -C (user; one batch per module${runsOf(addr2line)}) | ${fmt(addr2line.ms, 0)} | ${rate(addr2line.ms)} | | | ${fmt(addr2line.ms / uc)}× | ${agree(addr2line)} |`);
    else line('| binutils addr2line | not available | | | | | |');
    if (llvm) line(`| llvm-symbolizer --no-inlines -f -C (user; one batch${runsOf(llvm)}) | ${fmt(llvm.ms, 0)} | ${rate(llvm.ms)} | | | ${fmt(llvm.ms / uc)}× | ${agree(llvm)} |`);
    else line('| llvm-symbolizer | not available | | | | | |');
    line();
    line(`C++ names demangled by: ${res.demangler}. "same name": the user frames a peer names with exactly our text. Where they differ, the`);
    line('address is named otherwise, not wrongly: another alias at the same address (identical code folded, `monstartup` /');
    line('`__monstartup`); with DWARF (libc), addr2line names the innermost function inlined there (`call_init` inside');
    line('`__libc_start_main`); llvm-symbolizer uses LLVM\'s demangler style (`(.part.0)` for `[clone .part.0]`, `\'lambda\'`');
    line('for `{lambda()#1}`), where addr2line and ours share the GNU style.');
    line();
  } finally {
    target.kill('SIGKILL');
  }
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (process.argv[2] === '--worker') {
  await worker(process.argv[3], process.argv[4], process.argv[5]);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.error('bench-symbolize: run through the bench (BENCH_ONLY=symbolize npm run bench), or with --worker');
  process.exit(2);
}

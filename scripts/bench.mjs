#!/usr/bin/env node
// npm run bench — our tools side by side with the peers (libbpf-tools, bpftrace) on this machine, in
// one run: overhead on a traced program, capture under an open(2) storm, startup, memory, and where
// our user-space time goes. Prints a markdown report and writes it (and the raw numbers) to
// bench/results/. Run as root after `npm run build`. Knobs: BENCH_REPS (5), BENCH_STORM_OPENS (1000000),
// BENCH_ONLY=overhead,storm,startup,memory,profile,install,symbolize,exporter,stacks,unwind, BENCH_STACKS_CASES=REGEX (part 9's cases),
// BENCH_UNWIND_SECS (4: each tracer of part 10), BENCH_BEFORE=DIR (a built checkout of an earlier commit: each of
// our cases in every part that has them runs again on its build, row beside row, for a before/after in one run).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSymbolize } from './bench-symbolize.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPS = Number(process.env.BENCH_REPS ?? 5);
const STORM = Number(process.env.BENCH_STORM_OPENS ?? 1_000_000);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'overhead,storm,startup,memory,profile,install,symbolize,exporter,stacks,unwind').split(','));
const work = join(tmpdir(), `bpf-recipes-bench-${process.pid}`);
mkdirSync(work, { recursive: true });
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

if (process.geteuid() !== 0) {
  console.error('bench: run as root (the tools and their peers load BPF)');
  process.exit(2);
}

// ---------- helpers ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const have = (p) => existsSync(p);

function compile(name) {
  const bin = join(work, name);
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'bench', 'workloads', 'storm.c')]);
  return bin;
}

const ours = (tool) => {
  const bin = join(root, 'tools', tool, 'bin', `${tool}.js`);
  // run the command itself, as users do: its shebang carries the runtime flags
  return have(join(root, 'tools', tool, 'dist', 'src', 'main.js')) ? [bin] : null;
};
// BENCH_BEFORE: the same cases on another build of the repository (e.g. `git worktree add /tmp/before main~3`,
// then `npm ci && npm run build` there), each right after ours, so that a busy moment falls on both alike
const BEFORE = process.env.BENCH_BEFORE ? resolve(process.env.BENCH_BEFORE) : undefined;
if (BEFORE && !have(join(BEFORE, 'tools', 'opensnoop', 'dist', 'src', 'main.js'))) {
  console.error(`bench: BENCH_BEFORE=${BEFORE} is not a built checkout (no tools/opensnoop/dist): run npm run build there first`);
  process.exit(2);
}
const beforeName = BEFORE ? `before (${execFileSync('git', ['-C', BEFORE, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()})` : '';
/** each of our cases, followed by its twin on BENCH_BEFORE's build ("ours before (abc1234): ..."); cmdAt: where the command is */
const withBefore = (cases, nameAt = 0, cmdAt = 1) =>
  !BEFORE
    ? cases
    : cases.flatMap((c) => {
        if (!String(c[nameAt]).startsWith('ours: ') || !c[cmdAt]) return [c];
        const twin = [...c];
        twin[nameAt] = c[nameAt].replace(/^ours: /, `ours ${beforeName}: `);
        twin[cmdAt] = c[cmdAt].map((a) => (a.startsWith(root + '/') ? join(BEFORE, a.slice(root.length + 1)) : a));
        return [c, twin];
      });
const peer = (path, ...pre) => (have(path) ? [...pre, path] : null);
const bpftrace = (script) => (have('/usr/bin/bpftrace') && have(script) ? ['bpftrace', script] : null);

/** Start a tracer; resolve once it is attached (its readiness text, then a short grace). */
async function startTracer(cmd, args, { stdoutFile, ready = /Tracing|Attaching|PID|COMM|SYSCALL/, wrap = [] } = {}) {
  const outFd = stdoutFile ? openSync(stdoutFile, 'w') : 'pipe';
  // peers buffer stdout when it is not a terminal: stdbuf makes them line-buffered, as a user piping them would
  const isOurs = cmd[0].startsWith(root) || cmd[0] === process.execPath;
  // wrap: a command in front of the tracer's (e.g. one that measures it), stdbuf or not
  const argv = isOurs ? [...wrap, ...cmd, ...args] : ['stdbuf', '-oL', '-eL', ...wrap, ...cmd, ...args];
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', outFd, 'pipe'] });
  if (typeof outFd === 'number') closeSync(outFd);
  let text = '';
  p.stderr.on('data', (d) => (text += d));
  p.stdout?.on('data', (d) => (text += d));
  const exited = new Promise((r) => p.on('close', (code) => r(code)));
  const t0 = Date.now();
  while (!ready.test(text) && Date.now() - t0 < 30000) {
    if (p.exitCode !== null) throw new Error(`${argv.join(' ')} exited early: ${text}`);
    if (stdoutFile && existsSync(stdoutFile) && ready.test(readFileSync(stdoutFile, 'utf8').slice(0, 4096))) break;
    await sleep(20);
  }
  await sleep(isOurs ? 100 : 500);
  return {
    p,
    text: () => text,
    async stop() {
      p.kill('SIGINT');
      const t = setTimeout(() => p.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** user+system CPU seconds and peak RSS (MB) of a live process */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu, rssMb: hwm ? Number(hwm[1]) / 1024 : NaN };
}

/** The process doing the tracing (bpftrace under stdbuf is an exec, so the pid is the same). */
const tracerPid = (t) => t.p.pid;

const ddArgs = ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=500k'];
function timeDd() {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('dd', ddArgs, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('dd failed');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const report = [];
const raw = { machine: {}, overhead: [], storm: [], startup: [], memory: [], profile: null, install: [], exporter: [], stacks: [], unwind: [] };
const line = (s = '') => {
  report.push(s);
  console.log(s);
};

raw.machine = {
  kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
  cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
  node: process.version,
  date: new Date().toISOString(),
  reps: REPS,
};
line(`# bpf-recipes benchmark — ${raw.machine.date}`);
line();
line(`Kernel ${raw.machine.kernel}, ${raw.machine.cpus} CPUs, Node ${raw.machine.node}; medians of ${REPS} runs.`);
line();

// ---------- 1. overhead ----------
if (ONLY.has('overhead')) {
  line('## 1. Overhead on the traced program');
  line();
  line('`dd if=/dev/zero of=/dev/null bs=1 count=500k` wall time, traced ÷ untraced (lower is better).');
  line();
  const untraced = median(Array.from({ length: REPS }, timeDd));
  raw.overhead.push({ tracer: 'untraced', seconds: untraced, ratio: 1 });
  const cases = withBefore([
    ['ours: syscount', ours('syscount'), []],
    ['libbpf-tools: syscount', peer('/usr/sbin/syscount'), []],
    ['bpftrace: syscount.bt', bpftrace('/usr/sbin/syscount.bt'), []],
    ['ours: syscount -L', ours('syscount'), ['-L']],
    ['libbpf-tools: syscount -L', peer('/usr/sbin/syscount'), ['-L']],
    ['ours: opensnoop (idle beside dd)', ours('opensnoop'), []],
    ['libbpf-tools: opensnoop', peer('/usr/sbin/opensnoop'), []],
    ['ours: killsnoop (idle beside dd)', ours('killsnoop'), []],
    ['libbpf-tools: killsnoop', peer('/usr/sbin/killsnoop'), []],
  ]);
  line('| tracer | dd seconds | ratio |');
  line('|---|---:|---:|');
  line(`| untraced | ${fmt(untraced, 3)} | 1.00× |`);
  for (const [name, cmd, args] of cases) {
    if (!cmd) {
      line(`| ${name} | not available | |`);
      continue;
    }
    const out = join(work, 'overhead.out');
    const t = await startTracer(cmd, args, { stdoutFile: out });
    const secs = median(Array.from({ length: REPS }, timeDd));
    await t.stop();
    raw.overhead.push({ tracer: name, args, seconds: secs, ratio: secs / untraced });
    line(`| ${name} | ${fmt(secs, 3)} | ${fmt(secs / untraced)}× |`);
  }
  line();
}

// ---------- 2. storm ----------
const storm = compile('storm');
const ticker = join(work, 'ticker');
execFileSync('cp', [storm, ticker]);

async function stormRun(name, cmd, args, pathTag) {
  const path = join(work, `storm-${pathTag}`);
  writeFileSync(path, 'x');
  const out = join(work, `storm-${pathTag}.out`);
  const t = await startTracer(cmd, args, { stdoutFile: out });
  const per = Math.floor(STORM / 2);
  const t0 = Date.now();
  const gens = [0, 1].map(
    () => new Promise((r) => {
      const g = spawn(storm, [path, String(per)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let e = '';
      g.stderr.on('data', (d) => (e += d));
      g.on('close', () => r(Number(e.trim())));
    }),
  );
  const rates = await Promise.all(gens);
  const wall = (Date.now() - t0) / 1000;
  // let the reader catch up (bounded), then measure it while still tracing
  const want = per * 2;
  const deadline = Date.now() + 30000;
  let seen = 0;
  let last = -1;
  while (Date.now() < deadline) {
    seen = countLines(out, path);
    if (seen >= want || seen === last) break;
    last = seen;
    await sleep(1000);
  }
  const u = usage(tracerPid(t));
  await t.stop();
  seen = countLines(out, path);
  const lost = [...t.text().matchAll(/Lost (\d+) events(?! in total)/gi)].reduce((a, m) => a + Number(m[1]), 0) +
    [...t.text().matchAll(/lost (\d+) events on CPU/gi)].reduce((a, m) => a + Number(m[1]), 0);
  rmSync(out, { force: true });
  rmSync(path, { force: true });
  return { name, opens: want, printed: seen, captured: seen / want, lost, cpu: u.cpu, rssMb: u.rssMb, opensPerSec: rates.reduce((a, b) => a + b, 0), wall };
}

function countLines(file, needle) {
  if (!existsSync(file)) return 0;
  const s = readFileSync(file, 'utf8');
  let n = 0;
  for (let i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
}

if (ONLY.has('storm') || ONLY.has('memory')) {
  line('## 2. Event capture under an open(2) storm');
  line();
  line(`Two generators open one path as fast as they can (${STORM.toLocaleString('en')} opens in all), system-wide tracing,`);
  line('output to a file. Captured = events printed for that path ÷ opens made; lost = what the tool reported lost.');
  line();
  const cases = withBefore([
    ['ours: opensnoop (table)', ours('opensnoop'), []],
    ['ours: opensnoop --json', ours('opensnoop'), ['--json']],
    ['libbpf-tools: opensnoop', peer('/usr/sbin/opensnoop'), []],
    ['bpftrace: opensnoop.bt', bpftrace('/usr/sbin/opensnoop.bt'), []],
  ]);
  const reps = Math.max(1, Math.min(REPS, Number(process.env.BENCH_STORM_REPS ?? 3)));
  line(`| tracer | captured | lost (reported) | tool CPU s | CPU µs / event | opens/s while traced | peak RSS MB |`);
  line('|---|---:|---:|---:|---:|---:|---:|');
  let i = 0;
  for (const [name, cmd, args] of cases) {
    if (!cmd) {
      line(`| ${name} | not available | | | | | |`);
      continue;
    }
    const runs = [];
    for (let r = 0; r < reps; r++) runs.push(await stormRun(name, cmd, args, `${i++}`));
    const m = {
      name,
      captured: median(runs.map((x) => x.captured)),
      lost: median(runs.map((x) => x.lost)),
      cpu: median(runs.map((x) => x.cpu)),
      perEvent: median(runs.map((x) => (x.cpu / Math.max(1, x.printed)) * 1e6)),
      rate: median(runs.map((x) => x.opensPerSec)),
      rss: Math.max(...runs.map((x) => x.rssMb)),
      runs,
    };
    raw.storm.push(m);
    raw.memory.push({ tracer: name, peakRssMb: m.rss });
    line(`| ${name} | ${fmt(m.captured * 100, 1)} % | ${m.lost} | ${fmt(m.cpu)} | ${fmt(m.perEvent)} | ${Math.round(m.rate).toLocaleString('en')} | ${fmt(m.rss, 1)} |`);
  }
  line();
}

// ---------- 3. startup ----------
if (ONLY.has('startup')) {
  line('## 3. Startup: launch to first event seen');
  line();
  line('A helper opens a unique path every 2 ms; the clock runs from spawning the tool to reading the first line with that path.');
  line('Bare node is the floor under any Node.js tool: `node -e` printing that path (with the flags and environment of our launchers).');
  line('syscount and profile print nothing per event: their clock stops at the line that says they trace (printed once every program is');
  line('attached, the moment from which an event is counted); so does a second clock for opensnoop, to compare like with like.');
  line('The cases take turns within each round, so a busy moment of the machine falls on all of them alike.');
  line();
  const path = join(work, 'startup-path');
  writeFileSync(path, 'x');
  const tick = spawn(ticker, [path, '2'], { stdio: 'ignore' });
  // it stays alive after the line, as a tracer does, so that its CPU time can be read at that moment;
  // on stderr, the same "node booted" mark our tools give under BPF_RECIPES_TIMING
  const bareNode = ['env', '-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '--max-semi-space-size=2', '-e',
    `process.stderr.write('timing: node booted ' + performance.nodeTiming.bootstrapComplete.toFixed(1) + ' ms\\n'); process.stdout.write(${JSON.stringify(path)} + '\\n'); setTimeout(() => {}, 20000)`];
  /** CPU time (ms) of every thread of a live process, from the scheduler's ns counters */
  const cpuMs = (pid) => {
    try {
      return readdirSync(`/proc/${pid}/task`).reduce((sum, t) => sum + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6, 0);
    } catch {
      return NaN;
    }
  };
  const READY = /Tracing|Sampling|Attaching|Counting/;
  const BARE = 'bare node (`node -e`, prints one line)';
  // [name, command, until (a line with this path, or READY on stdout or stderr), floor/peer to compare with]
  const cases = withBefore([
    [BARE, bareNode, path],
    ['ours: opensnoop', ours('opensnoop'), path, 'libbpf-tools: opensnoop'],
    ['libbpf-tools: opensnoop', peer('/usr/sbin/opensnoop'), path],
    ['bpftrace: opensnoop.bt', bpftrace('/usr/sbin/opensnoop.bt'), path],
    ['ours: opensnoop, to tracing', ours('opensnoop'), READY, 'libbpf-tools: opensnoop, to tracing'],
    ['libbpf-tools: opensnoop, to tracing', peer('/usr/sbin/opensnoop'), /PID/],
    ['ours: syscount, to tracing', ours('syscount'), READY, 'libbpf-tools: syscount, to tracing'],
    ['libbpf-tools: syscount, to tracing', peer('/usr/sbin/syscount'), READY],
    ['bpftrace: syscount.bt, to tracing', bpftrace('/usr/sbin/syscount.bt'), READY],
    ['ours: profile, to tracing', ours('profile'), READY, 'bpftrace: profile:hz:49 { @[kstack, ustack] = count(); }, to tracing'],
    ['bpftrace: profile:hz:49 { @[kstack, ustack] = count(); }, to tracing', have('/usr/bin/bpftrace') ? ['bpftrace', '-e', 'profile:hz:49 { @[kstack, ustack] = count(); }'] : null, READY],
  ]);
  const times = new Map(cases.map(([name]) => [name, []]));
  const cpus = new Map(cases.map(([name]) => [name, []]));
  /** per case, the BPF_RECIPES_TIMING marks of each run: mark -> [{ ms, cpu }] */
  const marks = new Map(cases.map(([name]) => [name, new Map()]));
  for (let r = 0; r < REPS; r++) {
    for (const [name, cmd, until] of cases) {
      if (!cmd) continue;
      const direct = cmd[0].startsWith(root) || cmd[0].startsWith('/') || cmd[0] === 'env';
      const argv = direct && !cmd[0].startsWith('/usr/sbin') ? cmd : ['stdbuf', '-oL', ...cmd];
      const t0 = process.hrtime.bigint();
      // the marks cost a write(2) each; the tools print them only when asked
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BPF_RECIPES_TIMING: '1' } });
      let err = '';
      const ms = await new Promise((res) => {
        let buf = '';
        const to = setTimeout(() => res(NaN), 20000);
        const seen = (d, isErr) => {
          if (isErr) err += d;
          buf += d;
          if (typeof until === 'string' ? !isErr && buf.includes(until) : until.test(buf.replace(/^timing: .*$/gm, ''))) {
            clearTimeout(to);
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            cpus.get(name).push(cpuMs(p.pid));
            res(ms);
          }
        };
        p.stdout.on('data', (d) => seen(d, false));
        p.stderr.on('data', (d) => seen(d, true));
      });
      // bpftrace names every stack of a map at Ctrl-C (a minute and more with profile's): its start is measured, not its end
      p.kill(cmd[0] === 'bpftrace' ? 'SIGKILL' : 'SIGINT');
      await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.on('close', r)));
      times.get(name).push(ms);
      for (const m of err.matchAll(/^timing: (.+?)(?: \(.*\))? ([\d.]+) ms(?:, CPU ([\d.]+) ms)?$/gm)) {
        const k = marks.get(name);
        if (!k.has(m[1])) k.set(m[1], []);
        k.get(m[1]).push({ ms: Number(m[2]), cpu: m[3] === undefined ? NaN : Number(m[3]) });
      }
      await sleep(300);
    }
  }
  const med = (name) => median(times.get(name) ?? []);
  const node0 = med(BARE);
  const cpuOf = (name) => median((cpus.get(name) ?? []).filter(Number.isFinite));
  const node0Cpu = cpuOf(BARE);
  line('| tracer | launch → first event (ms) | ÷ bare node | ÷ its peer | CPU ms by then | CPU ÷ bare node |');
  line('|---|---:|---:|---:|---:|---:|');
  for (const [name, cmd, , vs] of cases) {
    if (!cmd) {
      line(`| ${name} | not available | | | | |`);
      continue;
    }
    const ms = med(name);
    const cpu = cpuOf(name);
    const peerMs = vs ? med(vs) : NaN;
    raw.startup.push({ tracer: name, ms, runs: times.get(name), cpuMs: cpu, cpuRuns: cpus.get(name), marks: Object.fromEntries(marks.get(name)) });
    line(`| ${name} | ${fmt(ms, 0)} | ${fmt(ms / node0)}× | ${Number.isFinite(peerMs) ? `${fmt(ms / peerMs)}× (${vs.replace(/, to tracing$/, '').replace(/ \{.*\}/, '')})` : ''} | ${fmt(cpu, 0)} | ${fmt(cpu / node0Cpu)}× |`);
  }
  line();
  line('CPU ms by then: user + system time of all the tracer\'s threads (`/proc/PID/task/*/schedstat`) when its line is read; it moves less than wall time on a busy machine.');
  line();
  // where the time goes: the marks each of our tools prints under BPF_RECIPES_TIMING=1 (ms since the
  // process started, CPU ms by then), as the medians of each phase's length
  const PHASES = [
    ['Node boot', null, 'node booted'],
    ['module load', 'node booted', 'modules loaded'],
    ['option parsing', 'modules loaded', 'options parsed'],
    ['preflight', 'options parsed', 'preflight done'],
    ['object open', 'preflight done', 'object opened'],
    ['load + verifier', 'object opened', 'loaded'],
    ['attach', 'loaded', 'attached'],
    ['to ready line', 'attached', 'ready'],
  ];
  const phase = (name, from, to, key) => {
    const k = marks.get(name);
    const a = from ? k.get(from) : undefined;
    const b = k.get(to);
    if (!b) return NaN;
    return median(b.map((x, i) => x[key] - (from ? (a?.[i]?.[key] ?? NaN) : 0)).filter(Number.isFinite));
  };
  // (opensnoop's second clock is the same runs again)
  const phased = cases.filter(([name, cmd]) => cmd && marks.get(name).has('node booted') && name !== 'ours: opensnoop, to tracing');
  line('Where the time goes, per phase (medians of the same runs; each of our tools prints these marks under `BPF_RECIPES_TIMING=1`;');
  line('bare node prints its boot only). Wall ms, and in brackets CPU ms where the process can read it (from its first line on).');
  line();
  line(`| phase | ${phased.map(([n]) => n.replace(/, to tracing$/, '').replace(/ \(`node -e`.*\)/, '')).join(' | ')} |`);
  line(`|---|${phased.map(() => '---:').join('|')}|`);
  for (const [label, from, to] of PHASES) {
    const cells = phased.map(([n]) => {
      const w = phase(n, from, to, 'ms');
      const c = from ? phase(n, from, to, 'cpu') : NaN;
      return Number.isFinite(w) ? `${fmt(w, 1)}${Number.isFinite(c) ? ` (${fmt(c, 1)})` : ''}` : '';
    });
    line(`| ${label} | ${cells.join(' | ')} |`);
  }
  const lbt = med('libbpf-tools: opensnoop');
  line();
  line(`libbpf-tools' opensnoop, for scale: ${fmt(lbt, 0)} ms launch → first event in all, ${fmt(cpuOf('libbpf-tools: opensnoop'), 0)} CPU ms.`);
  tick.kill('SIGKILL');
  line();
}

// ---------- 4. memory ----------
if (ONLY.has('memory') && raw.memory.length) {
  line('## 4. Memory: peak RSS while tracing');
  line();
  line('VmHWM of the tracing process at the end of the storm runs above (bpftrace: the bpftrace process).');
  line();
  line('| tracer | peak RSS MB |');
  line('|---|---:|');
  for (const m of raw.memory) line(`| ${m.tracer} | ${fmt(m.peakRssMb, 1)} |`);
  line();
}

// ---------- 5. profile ----------
if (ONLY.has('profile') && ours('opensnoop')) {
  line('## 5. Where our user-space time goes (opensnoop under the storm, table and `--json`)');
  line();
  /** self time of a --cpu-prof'd storm run of opensnoop with these arguments, by part and by function */
  const profiled = async (args, tag) => {
    const dir = join(work, `prof-${tag}`);
    mkdirSync(dir, { recursive: true });
    // the ES module build (the same code as the one-file build the launcher loads), so that self time
    // can be told apart by source file: ring-buffer read, decode, format, write
    const cmd = [process.execPath, '--max-semi-space-size=2', '--cpu-prof', '--cpu-prof-dir', dir, join(root, 'tools', 'opensnoop', 'dist', 'src', 'main.js')];
    const run = await stormRun('profile', cmd, args, `prof-${tag}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return undefined;
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const self = new Map();
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const dt = new Map();
    prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
    for (const [id, us] of dt) {
      const n = byId.get(id);
      const cf = n.callFrame;
      const where = cf.url ? cf.url.replace(/^file:\/\//, '').replace(root + '/', '') : '';
      const key = `${cf.functionName || '(anonymous)'} ${where ? `(${where.split('/').slice(-2).join('/')}:${cf.lineNumber + 1})` : ''}`.trim();
      const cat = category(cf.functionName, where);
      const e = self.get(key) ?? { us: 0, cat };
      e.us += us;
      self.set(key, e);
    }
    const cats = new Map();
    for (const { us, cat } of self.values()) cats.set(cat, (cats.get(cat) ?? 0) + us);
    const busy = [...cats].filter(([c]) => c !== 'idle').reduce((a, [, us]) => a + us, 0);
    return { self, cats, busy, printed: run.printed, lost: run.lost };
  };
  const modes = [['table', []], ['--json', ['--json']]];
  const profs = [];
  for (const [label, args] of modes) profs.push([label, await profiled(args, label.replace(/\W/g, ''))]);
  const got = profs.filter(([, p]) => p);
  if (!got.length) line('(no profile was written)');
  else {
    line(`| part | ${got.map(([l]) => `${l}: share of busy time | ${l}: µs per event`).join(' | ')} |`);
    line(`|---|${got.map(() => '---:|---:').join('|')}|`);
    const allCats = [...new Set(got.flatMap(([, p]) => [...p.cats.keys()]))].filter((c) => c !== 'idle');
    allCats.sort((x, y) => (got[0][1].cats.get(y) ?? 0) - (got[0][1].cats.get(x) ?? 0));
    for (const cat of allCats) {
      line(`| ${cat} | ${got.map(([, p]) => `${fmt(((p.cats.get(cat) ?? 0) / p.busy) * 100, 1)} % | ${fmt((p.cats.get(cat) ?? 0) / Math.max(1, p.printed), 3)}`).join(' | ')} |`);
    }
    line(`| all (busy) | ${got.map(([, p]) => `100 % | ${fmt(p.busy / Math.max(1, p.printed), 3)}`).join(' | ')} |`);
    line();
    line(`Events printed: ${got.map(([l, p]) => `${l} ${p.printed.toLocaleString('en')} (lost ${p.lost})`).join(', ')}. The profiler itself costs time; read the shares, and the µs per event side by side.`);
    for (const [label, p] of got) {
      line();
      line(`Top functions by self time, ${label}:`);
      line();
      line('| function | self ms | part |');
      line('|---|---:|---|');
      for (const [k, v] of [...p.self].filter(([, v]) => v.cat !== 'idle').sort((a, b) => b[1].us - a[1].us).slice(0, 12)) {
        line(`| \`${k}\` | ${fmt(v.us / 1000, 1)} | ${v.cat} |`);
      }
    }
    raw.profile = Object.fromEntries(got.map(([l, p]) => [l, { categories: Object.fromEntries(p.cats), busyUs: p.busy, printed: p.printed, lost: p.lost }]));
  }
  line();
}

function category(fn, where) {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'runtime (native, not attributed)';
  if (fn === 'detach' || fn === 'close') return 'stop: detaching (the kernel waits for RCU per tracepoint link)';
  if (/^(writeBuffer|writeSync|writeUtf8String)$/.test(fn)) return 'write';
  // Buffer#write: the line encoded into the output buffer (a line built of many pieces is flattened here)
  if (fn === 'write' && where === 'node:buffer') return 'write';
  if (/^(slice|utf8Slice|latin1Slice|toString)$/.test(fn)) return 'decode';
  if (/ringbuf\.js/.test(where) || /^(consume|drain)$/.test(fn)) return 'ring-buffer read';
  if (/generated\/|decode\.js/.test(where) || /^(cstr|u64|s64|bytes|toString|readUInt32LE|readInt32LE|utf8Slice|indexOf)$/.test(fn)) return 'decode';
  if (/output\.js/.test(where) || /writeSync|join/.test(fn)) return 'write';
  if (/columns\.js|time\.js|flags\.js|record\.js|text\.js|trace\.js|tools\/opensnoop\/dist\/src\/main\.js/.test(where) || /padStart|padEnd|stringify|isWellFormed/.test(fn)) return 'format';
  // recordFormat's compiled serializer (new Function: no file)
  if (fn === 'json' && where === '') return 'format';
  if (/node_modules|node:/.test(where) || where === '') return 'other (startup, runtime)';
  return 'other';
}

// ---------- 6. install ----------
if (ONLY.has('install')) {
  line('## 6. What `npx <tool>` downloads and installs');
  line();
  line('Each tool\'s npm tarball with the libraries it needs (cli, runtime, core, format), from `npm run pack:all`, installed');
  line('into an empty directory with an empty npm cache, so every third-party package comes from the registry:');
  line('wall time of `npm install`, what was downloaded (the cache afterwards), and `du` of node_modules.');
  line();
  execFileSync('node', [join(root, 'scripts', 'pack.mjs')], { stdio: 'ignore' });
  const dist = join(root, 'dist-packages');
  const tgz = readdirSync(dist).filter((f) => f.endsWith('.tgz'));
  const libs = tgz.filter((f) => /^bpf-recipes-(cli|core|format|runtime)-/.test(f));
  const du = (p) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  const reps = Math.max(1, Math.min(REPS, 3));
  line(`| tool | cold install s (median of ${reps}) | downloaded MB | node_modules MB | packages |`);
  line('|---|---:|---:|---:|---:|');
  const tools = readdirSync(join(root, 'tools')).sort();
  for (const t of tools) {
    const name = t === 'bpf-recipes' ? 'umbrella' : t;
    const mine = tgz.find((f) => f.startsWith(`bpf-recipes-${name}-`));
    // the umbrella installs every tool
    const files = (t === 'bpf-recipes' ? tgz : [mine, ...libs]).map((f) => join(dist, f));
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const dir = join(work, `install-${t}-${r}`);
      const cache = join(work, `npm-cache-${t}-${r}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
      const t0 = process.hrtime.bigint();
      execFileSync('npm', ['install', '--cache', cache, '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...files], { cwd: dir, stdio: 'ignore' });
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const pkgs = execFileSync('find', [join(dir, 'node_modules'), '-name', 'package.json', '-path', '*/node_modules/*/package.json', '-not', '-path', '*/node_modules/*/*/node_modules/*'], { encoding: 'utf8' })
        .split('\n')
        .filter((f) => /node_modules\/(@[^/]+\/)?[^/@]+\/package\.json$/.test(f)).length;
      runs.push({ secs, downloadedMb: du(cache), nodeModulesMb: du(join(dir, 'node_modules')), packages: pkgs });
      rmSync(dir, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    }
    const m = { tool: t, secs: median(runs.map((x) => x.secs)), downloadedMb: runs[0].downloadedMb, nodeModulesMb: runs[0].nodeModulesMb, packages: runs[0].packages, runs };
    raw.install.push(m);
    line(`| ${t === 'bpf-recipes' ? 'bpf-recipes (umbrella: every tool)' : t} | ${fmt(m.secs, 1)} | ${fmt(m.downloadedMb, 1)} | ${fmt(m.nodeModulesMb, 1)} | ${m.packages} |`);
  }
  line();
}

// ---------- 7. symbolize ----------
if (ONLY.has('symbolize')) await benchSymbolize({ line, raw, reps: REPS, work, median, fmt });

// ---------- 8. exporter ----------
if (ONLY.has('exporter')) {
  line('## 8. bpf-recipes exporter');
  line();
  line('The traced dd of part 1 under `syscount` alone and under the exporter (syscount only, then every tool with');
  line('metrics), each scraped once a second as Prometheus would: dd wall time ÷ untraced, the tracer\'s CPU seconds');
  line('over the dd runs (scrapes included), and its peak RSS (VmHWM) at the end.');
  line();
  const exporterCmd = ours('bpf-recipes');
  // the tools whose package exports a metrics entry (./metrics: their descriptor's, or metrics.ts)
  const withMetrics = readdirSync(join(root, 'tools')).filter((t) => JSON.parse(readFileSync(join(root, 'tools', t, 'package.json'), 'utf8')).exports?.['./metrics']).sort();
  const port = 19000 + (process.pid % 1000);
  const cases = withBefore([
    ['ours: syscount --metrics', ours('syscount'), ['--metrics', `127.0.0.1:${port}`]],
    ['exporter --tools syscount', exporterCmd, ['exporter', '--listen', `127.0.0.1:${port}`, '--tools', 'syscount']],
    [`exporter, every tool with metrics (${withMetrics.join(', ')})`, exporterCmd, ['exporter', '--listen', `127.0.0.1:${port}`]],
  ]).filter(([, cmd]) => cmd);
  /** dd REPS times under one tracer, scraped every second: its wall times, the tracer's CPU and peak RSS */
  const ddUnder = async (name, cmd, args) => {
    const t = await startTracer(cmd, args, { stdoutFile: join(work, 'exporter.out'), ready: /^Tracing/m });
    let scrapes = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        // a scrape must answer: a failed one fails the bench
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        if (res.status !== 200) throw new Error(`${name}: scrape answered ${res.status}`);
        await res.text();
        scrapes++;
        await sleep(1000);
      }
    })();
    const before = usage(tracerPid(t));
    const secs = [];
    // dd runs in a child: spawnSync would stop this process's event loop, and the scrapes with it
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      const code = await new Promise((r) => spawn('dd', ddArgs, { stdio: 'ignore' }).on('close', r));
      if (code !== 0) throw new Error('dd failed');
      secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const after = usage(tracerPid(t));
    scraping = false;
    await scraper;
    await t.stop();
    return { seconds: median(secs), cpuSeconds: after.cpu - before.cpu, peakRssMb: after.rssMb, scrapes };
  };
  // the cases take turns in each round (the machine's load drifts); ratios are per round, then the median
  const rounds = cases.map(() => []);
  const untraced = [];
  for (let r = 0; r < REPS; r++) {
    const u = median(Array.from({ length: 3 }, timeDd));
    untraced.push(u);
    for (const [i, [name, cmd, args]] of cases.entries()) rounds[i].push({ ...(await ddUnder(name, cmd, args)), untraced: u });
  }
  line('| tracer | dd seconds | ratio | tracer CPU s (3 dd) | peak RSS MB |');
  line('|---|---:|---:|---:|---:|');
  line(`| untraced | ${fmt(median(untraced), 3)} | 1.00× | | |`);
  for (const [i, [name, , args]] of cases.entries()) {
    const rs = rounds[i];
    const m = {
      tracer: name, args, seconds: median(rs.map((x) => x.seconds)), ratio: median(rs.map((x) => x.seconds / x.untraced)),
      cpuSeconds: median(rs.map((x) => x.cpuSeconds)), peakRssMb: Math.max(...rs.map((x) => x.peakRssMb)), rounds: rs,
    };
    raw.exporter.push(m);
    line(`| ${name} | ${fmt(m.seconds, 3)} | ${fmt(m.ratio)}× | ${fmt(m.cpuSeconds)} | ${fmt(m.peakRssMb, 1)} |`);
  }
  line();
}

// ---------- 9. stack tools ----------
if (ONLY.has('stacks')) {
  line('## 9. Stack tools: overhead of sampling, off-CPU tracing, syscall latency by stack, page faults');
  line();
  line('The dd of part 1 (the page-fault rows: `bench/workloads/faults.c 20 16384`, 327,680 minor faults), run under');
  line('`bench/workloads/cputime.c` (its CPU time from wait4: BPF programs that run in its');
  line('context, a perf_event sample interrupting it or a sched_switch it hits, are charged to it). Each tracer is paired');
  line(`with untraced runs just before it; fastest of ${REPS} each way; ratio = traced ÷ untraced (lower is better).`);
  line('Tool CPU s: the tracer process while the traced runs go on; whole run: from its start to its exit, printing the');
  line('stacks at the end included (the tracer runs under cputime too).');
  line();
  const cputime = join(work, 'cputime');
  execFileSync('cc', ['-O2', '-o', cputime, join(root, 'bench', 'workloads', 'cputime.c')]);
  const faults = join(work, 'faults');
  execFileSync('cc', ['-O2', '-o', faults, join(root, 'bench', 'workloads', 'faults.c')]);
  const dd = ['dd', ...ddArgs];
  const faulter = [faults, '20', '16384'];
  /** one run of the workload under cputime: { cpu, wall } seconds */
  const runCpu = (workload) => {
    const r = spawnSync(cputime, workload, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const m = /(\d+) (\d+) (\d+)\s*$/.exec(r.stderr ?? '');
    if (r.status !== 0 || !m) throw new Error(`${workload[0]} under cputime failed: ${r.stderr}`);
    return { cpu: (Number(m[1]) + Number(m[2])) / 1e6, wall: Number(m[3]) / 1e6 };
  };
  const fastest = (workload) => {
    const runs = Array.from({ length: REPS }, () => runCpu(workload));
    return { cpu: Math.min(...runs.map((x) => x.cpu)), wall: Math.min(...runs.map((x) => x.wall)), runs };
  };
  const bt = (prog) => (have('/usr/bin/bpftrace') ? ['bpftrace', '-e', prog] : null);
  const noBpftrace = 'not available (apt-get install bpftrace)';
  // [name, command, args, why absent, workload]
  const cases = withBefore([
    ['ours: profile -F 49', ours('profile'), ['-F', '49'], 'not built', dd],
    ['ours: profile -F 49 --frame-pointers', ours('profile'), ['-F', '49', '--frame-pointers'], 'not built', dd],
    ['bpftrace: profile:hz:49 { @[kstack, ustack] = count(); }', bt('profile:hz:49 { @[kstack, ustack] = count(); }'), [], noBpftrace, dd],
    ['ours: offcputime', ours('offcputime'), [], 'not built', dd],
    ['ours: offcputime --frame-pointers', ours('offcputime'), ['--frame-pointers'], 'not built', dd],
    ['libbpf-tools: offcputime', peer('/usr/sbin/offcputime'), [], 'not available (apt-get install libbpf-tools)', dd],
    // the talk's "I/O latency correlated with stack": dd's calls are all fast, so --min spares them the stack walk
    ['ours: syslatency (by comm, no stacks)', ours('syslatency'), [], 'not built', dd],
    ['ours: syslatency --by ustack --min 100ms', ours('syslatency'), ['--by', 'ustack', '--min', '100ms'], 'not built', dd],
    ['ours: profile -e page-faults --by comm (faults)', ours('profile'), ['-e', 'page-faults', '--by', 'comm'], 'not built', faulter],
    ['bpftrace: software:faults:1 { @[comm] = count(); } (faults)', bt('software:faults:1 { @[comm] = count(); }'), [], noBpftrace, faulter],
    ['ours: profile -e page-faults -c 1, stacks (faults)', ours('profile'), ['-e', 'page-faults', '-c', '1'], 'not built', faulter],
    ['bpftrace: software:faults:1 { @[kstack, ustack] = count(); } (faults)', bt('software:faults:1 { @[kstack, ustack] = count(); }'), [], noBpftrace, faulter],
  ]);
  line('| tracer | dd CPU s untraced | dd CPU s traced | CPU ratio | dd wall ratio | tool CPU s | tool CPU s, whole run |');
  line('|---|---:|---:|---:|---:|---:|---:|');
  // BENCH_STACKS_CASES=REGEX: only the cases whose name matches
  const pick = process.env.BENCH_STACKS_CASES ? new RegExp(process.env.BENCH_STACKS_CASES) : undefined;
  for (const [name, cmd, args, absent, workload] of cases) {
    if (pick && !pick.test(name)) continue;
    if (!cmd) {
      line(`| ${name} | ${absent} | | | | | |`);
      raw.stacks.push({ tracer: name, absent });
      continue;
    }
    const before = fastest(workload);
    const out = join(work, 'stacks.out');
    // the tracer runs under cputime (its CPU time to the end, printing included); signals go to the tracer itself
    const t = await startTracer(cmd, args, { stdoutFile: out, ready: /Tracing|Attaching/, wrap: [cputime] });
    const tracer = Number(readFileSync(`/proc/${t.p.pid}/task/${t.p.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    const cpu0 = usage(tracer).cpu;
    const traced = fastest(workload);
    const toolCpu = usage(tracer).cpu - cpu0;
    process.kill(tracer, 'SIGINT');
    // printing the stacks at the end takes a while (bpftrace names them all then): wait for it
    const stopAt = Date.now();
    for (const end = stopAt + 180000; t.p.exitCode === null && t.p.signalCode === null && Date.now() < end; ) await sleep(100);
    const exited = t.p.exitCode !== null || t.p.signalCode !== null;
    const exitSecs = (Date.now() - stopAt) / 1000;
    if (!exited) process.kill(tracer, 'SIGKILL');
    await t.stop();
    const rus = [...t.text().matchAll(/^(\d+) (\d+) (\d+)$/gm)].at(-1);
    const wholeCpu = rus ? (Number(rus[1]) + Number(rus[2])) / 1e6 : NaN;
    const whole = exited ? `${fmt(wholeCpu)} (exit ${fmt(exitSecs, 1)} s after Ctrl-C)` : 'not exited 180 s after Ctrl-C (killed)';
    rmSync(out, { force: true });
    const m = { tracer: name, args, untraced: before, traced, cpuRatio: traced.cpu / before.cpu, wallRatio: traced.wall / before.wall, toolCpu, wholeCpu, exited, exitSecs };
    raw.stacks.push(m);
    line(`| ${name} | ${fmt(before.cpu, 3)} | ${fmt(traced.cpu, 3)} | ${fmt(m.cpuRatio)}× | ${fmt(m.wallRatio)}× | ${fmt(toolCpu)} | ${whole} |`);
  }
  line();
}

// ---------- 10. complete user stacks ----------
if (ONLY.has('unwind')) {
  line('## 10. Complete user stacks');
  line();
  line('Programs whose call chain is known, each traced by -p for a few seconds: `unwind-chain` (libs/testing/fixtures,');
  line('built `-O2 -fomit-frame-pointer`, PIE) burning CPU in main → outer → middle → inner, the same sleeping in');
  line("nanosleep() (off-CPU tools), and Debian's `/usr/bin/python3` running a loop. Share = samples (or blocks) whose");
  line('user stack holds the whole chain (python3: `Py_RunMain`). Tables: the `-v` line of profile (files, rows, MiB).');
  line();
  const SECS = Number(process.env.BENCH_UNWIND_SECS ?? 4);
  const chainBin = join(work, 'unwind-chain');
  execFileSync('cc', ['-O2', '-fomit-frame-pointer', '-fPIE', '-pie', '-pthread', '-o', chainBin, join(root, 'libs', 'testing', 'fixtures', 'unwind-chain.c')]);
  const held = (cmd, args) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    return { p, stop: () => p.stdin.end() };
  };
  /** the share of the weighted stacks (frame names, root first) that hold `chain` in order */
  const shareOf = (stacks, chain) => {
    let all = 0;
    let hit = 0;
    for (const { frames, n } of stacks) {
      all += n;
      let at = 0;
      for (const f of frames) if (f === chain[at]) at++;
      if (at === chain.length) hit += n;
    }
    return { all, share: all ? hit / all : NaN };
  };
  const foldedStacks = (text) =>
    text.split('\n').filter((l) => / \d+$/.test(l)).map((l) => ({ frames: l.slice(0, l.lastIndexOf(' ')).split(';'), n: Number(l.slice(l.lastIndexOf(' ') + 1)) }));
  // bpftrace: `@[\n  frame+off\n  ...\n]: N`, leaf first
  const bpftraceStacks = (text) =>
    [...text.matchAll(/@\[\n([\s\S]*?)\]: (\d+)/g)].map((m) => ({ frames: m[1].split('\n').map((x) => x.trim().replace(/\+\d+$/, '')).filter(Boolean).reverse(), n: Number(m[2]) }));
  // libbpf-tools offcputime: frames leaf first (kernel, then user), `-  comm (pid)`, then the microseconds
  const libbpfStacks = (text) =>
    text.split(/\n\s*\n/).map((b) => {
      const ls = b.split('\n').map((x) => x.trim()).filter(Boolean);
      const at = ls.findIndex((x) => x.startsWith('-'));
      return at < 0 ? null : { frames: ls.slice(0, at).reverse(), n: Number(ls[at + 1]) };
    }).filter((x) => x && Number.isFinite(x.n));
  const run = async (cmd, args, secs) => {
    const out = join(work, 'unwind.out');
    const t = await startTracer(cmd, args, { stdoutFile: out, ready: /Tracing|Attaching/ });
    await sleep(secs * 1000);
    await t.stop();
    const text = readFileSync(out, 'utf8');
    rmSync(out, { force: true });
    return { text, err: t.text() };
  };
  const waitReady = (p) => new Promise((res) => { let o = ''; p.stdout.on('data', (d) => { o += d; if (/ready/.test(o)) res(); }); });
  raw.unwind = [];
  line('| program | tracer | samples/blocks | complete stacks |');
  line('|---|---|---:|---:|');
  const CHAIN = ['main', 'outer', 'middle', 'inner'];
  const spin = held(chainBin, ['spin']);
  const sleeper = held(chainBin, ['sleep']);
  const py = held('/usr/bin/python3', ['-c', 'import sys\nprint("ready", flush=True)\ndef f(n):\n    s = 0\n    for i in range(n): s += i * i\n    return s\nwhile True: f(100000)\n']);
  await Promise.all([waitReady(spin.p), waitReady(sleeper.p), waitReady(py.p)]);
  const cases = withBefore([
    ['unwind-chain (CPU)', spin.p.pid, CHAIN, 'ours: profile -F 49', ours('profile'), ['-F', '49', '-U', '--format', 'folded'], foldedStacks],
    ['unwind-chain (CPU)', spin.p.pid, CHAIN, 'ours: profile -F 49 --frame-pointers', ours('profile'), ['-F', '49', '-U', '--format', 'folded', '--frame-pointers'], foldedStacks],
    ['unwind-chain (CPU)', spin.p.pid, CHAIN, 'bpftrace: @[ustack]', have('/usr/bin/bpftrace') ? ['bpftrace', '-e', `profile:hz:49 /pid == ${spin.p.pid}/ { @[ustack] = count(); }`] : null, [], bpftraceStacks],
    ['unwind-chain (nanosleep)', sleeper.p.pid, CHAIN, 'ours: offcputime', ours('offcputime'), ['-U', '--format', 'folded'], foldedStacks],
    ['unwind-chain (nanosleep)', sleeper.p.pid, CHAIN, 'ours: offcputime --frame-pointers', ours('offcputime'), ['-U', '--format', 'folded', '--frame-pointers'], foldedStacks],
    ['unwind-chain (nanosleep)', sleeper.p.pid, CHAIN, 'libbpf-tools: offcputime', peer('/usr/sbin/offcputime'), [], libbpfStacks],
    ['python3 loop', py.p.pid, ['Py_RunMain'], 'ours: profile -F 49', ours('profile'), ['-F', '49', '-U', '--format', 'folded'], foldedStacks],
    ['python3 loop', py.p.pid, ['Py_RunMain'], 'ours: profile -F 49 --frame-pointers', ours('profile'), ['-F', '49', '-U', '--format', 'folded', '--frame-pointers'], foldedStacks],
    ['python3 loop', py.p.pid, ['Py_RunMain'], 'bpftrace: @[ustack]', have('/usr/bin/bpftrace') ? ['bpftrace', '-e', `profile:hz:49 /pid == ${py.p.pid}/ { @[ustack] = count(); }`] : null, [], bpftraceStacks],
  ], 3, 4);
  try {
    for (const [prog, pid, chain, name, cmd, args, parse] of cases) {
      if (!cmd) {
        line(`| ${prog} | ${name} | not available | |`);
        continue;
      }
      const isOurs = cmd[0].startsWith(root);
      const r = await run(cmd, isOurs ? ['-p', String(pid), ...args] : name.startsWith('libbpf') ? ['-p', String(pid), ...args] : args, SECS);
      const { all, share } = shareOf(parse(r.text), chain);
      raw.unwind.push({ program: prog, tracer: name, samples: all, share });
      line(`| ${prog} | ${name} | ${all} | ${fmt(100 * share, 1)} % |`);
    }
    line();
    // the tables' load at start: built from the files (an empty table cache), and read back from the
    // cache the run before wrote (BPF_RECIPES_UNWIND_CACHE: a directory of the bench's own), paired,
    // fastest of REPS each; "loaded in" is the -v line's (the tables alone), start the time from
    // spawning profile to its "Tracing" line
    line(`Tables: \`profile -p PID -U -v\`'s line (files, rows, MiB), and its start, paired, fastest of ${REPS} each: with an empty`);
    line('table cache (every table built from its file) and with the tables the run before kept (`~/.cache/bpf-recipes/unwind`).');
    line();
    line('| process | tables (profile -p PID -v) | loaded in, built | loaded in, from the cache | start to Tracing, built | start to Tracing, from the cache |');
    line('|---|---|---:|---:|---:|---:|');
    const node = held(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    await waitReady(node.p);
    const cacheDir = join(work, 'unwind-cache');
    const startOnce = async (pid) => {
      const t0 = Date.now();
      const t = await startTracer(ours('profile'), ['-p', String(pid), '-U', '-v', '-d', '1'], { ready: /^Tracing/m });
      const startMs = Date.now() - t0 - 100; // startTracer's grace after the line
      await t.stop();
      const m = /unwind: (\d+ files, \d+ of \d+ rows \([\d.]+ of [\d.]+ MiB)[^)]*\).*\(loaded in (\d+) ms\)/.exec(t.text());
      return { tables: m ? `${m[1]})` : undefined, loadMs: Number(m?.[2]), startMs, cached: Number(/(\d+) tables read from the cache/.exec(t.text())?.[1]) };
    };
    const before = process.env.BPF_RECIPES_UNWIND_CACHE;
    process.env.BPF_RECIPES_UNWIND_CACHE = cacheDir;
    try {
      for (const [label, pid] of [['python3', py.p.pid], ['node', node.p.pid]]) {
        const built = [];
        const cached = [];
        for (let i = 0; i < REPS; i++) {
          rmSync(cacheDir, { recursive: true, force: true });
          built.push(await startOnce(pid));
          cached.push(await startOnce(pid));
        }
        const best = (rs, k) => Math.min(...rs.map((r) => r[k]));
        const files = Number(/^(\d+) files/.exec(built[0].tables ?? '')?.[1]);
        // every table of the second start came from the cache (else the row is no measure of it)
        const allCached = cached.every((r) => r.cached === files);
        raw.unwind.push({ process: label, tables: built[0].tables, built, cached, allCached });
        line(`| ${label} | ${built[0].tables ?? 'n/a'} | ${best(built, 'loadMs')} ms | ${best(cached, 'loadMs')} ms${allCached ? '' : ' (not every table from the cache)'} | ${best(built, 'startMs')} ms | ${best(cached, 'startMs')} ms |`);
      }
    } finally {
      if (before === undefined) delete process.env.BPF_RECIPES_UNWIND_CACHE;
      else process.env.BPF_RECIPES_UNWIND_CACHE = before;
      rmSync(cacheDir, { recursive: true, force: true });
    }
    node.stop();
  } finally {
    spin.stop();
    sleeper.stop();
    py.p.kill();
  }
  line();
}

// ---------- write ----------
const stamp = raw.machine.date.replace(/[:.]/g, '-');
const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
// a run of some parts (BENCH_ONLY) is written beside the full runs, not over latest.md
const full = ['overhead', 'storm', 'startup', 'memory', 'profile', 'stacks'].every((p) => ONLY.has(p));
const suffix = full ? '' : `-${[...ONLY].join('+')}`;
writeFileSync(join(outDir, `${stamp}${suffix}.md`), report.join('\n') + '\n');
writeFileSync(join(outDir, `${stamp}${suffix}.json`), JSON.stringify(raw, null, 2) + '\n');
writeFileSync(join(outDir, `latest${suffix}.md`), report.join('\n') + '\n');
rmSync(work, { recursive: true, force: true });
console.error(`bench: written to bench/results/${stamp}${suffix}.md (and latest${suffix}.md)`);

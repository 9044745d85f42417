#!/usr/bin/env node
// npm run soak [-- --minutes N] — a long open(2) storm under opensnoop, then under syscount -L, each
// for N minutes (default 10) at the highest rate this machine gives (one storm generator per CPU,
// restarted back to back). Checks, per tool:
//   - memory: RSS sampled every 5 s; after the warm-up (the first minute; half the run when it is
//     shorter than 2 minutes) the peak may exceed the RSS at the end of the warm-up by at most
//     max(8 MB, 10 %): "flat";
//   - every loss counted: opensnoop's printed events for the storm path + the losses it reported
//     == the opens the generators made; syscount's openat and close counts == the opens made (the
//     generator is linked statically, so no loader opens of its own add to them);
//   - a clean exit on SIGINT: code 0, nothing on stderr but the Tracing line and loss reports,
//     and none of the tool's BPF programs left loaded.
// Prints a markdown report and writes it (and the raw samples) to bench/results/soak-<time>.{md,json}
// and bench/results/soak-latest.md. Exit 1 when a check fails. Root, after `npm run build`.
// Not part of npm test (it runs for 2N minutes and uses every CPU).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function usage(msg) {
  console.error(`soak: ${msg}\nusage: npm run soak -- [--minutes N] [--only opensnoop|syscount]`);
  process.exit(2);
}
let minutes = 10;
let only;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]);
  if (a === '--minutes' || a.startsWith('--minutes=')) {
    minutes = Number(val());
    if (!(minutes > 0 && minutes <= 24 * 60)) usage('--minutes: give a number of minutes above 0, e.g. --minutes 1');
  } else if (a === '--only' || a.startsWith('--only=')) {
    only = val();
    if (only !== 'opensnoop' && only !== 'syscount') usage("--only: 'opensnoop' or 'syscount'");
  } else if (a === '-h' || a === '--help') {
    console.log('usage: npm run soak -- [--minutes N] [--only opensnoop|syscount]\nA long open(2) storm under opensnoop and syscount -L: RSS, losses, clean exit (see scripts/soak.mjs).');
    process.exit(0);
  } else usage(`unknown argument '${a}'`);
}
if (process.geteuid() !== 0) {
  console.error('soak: run as root (the tools load BPF)');
  process.exit(2);
}
for (const t of ['opensnoop', 'syscount']) {
  if (!existsSync(join(root, 'tools', t, 'dist', 'src', 'main.js'))) {
    console.error(`soak: tools/${t} is not built: run npm run build first`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = join(tmpdir(), `bpf-recipes-soak-${process.pid}`);
mkdirSync(work, { recursive: true });
// a comm no other process has, so the tools' -n filter keeps only the generators
const storm = join(work, 'soakstorm');
execFileSync('cc', ['-O2', '-static', '-o', storm, join(root, 'bench', 'workloads', 'storm.c')]);
const path = join(work, 'target');
writeFileSync(path, 'x');
const GENERATORS = Math.max(1, cpus().length);
const durationMs = minutes * 60_000;
const warmupMs = minutes >= 2 ? 60_000 : durationMs / 2;

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function heldPrograms(pid) {
  const ids = new Set();
  for (const fd of readdirSafe(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  return [...ids];
}
function readdirSafe(d) {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
async function stillLoaded(ids) {
  for (let i = 0; i < 30; i++) {
    const loaded = new Set(JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })).map((p) => p.id));
    const left = ids.filter((id) => loaded.has(id));
    if (left.length === 0) return left;
    await sleep(100);
  }
  return ids;
}

/** Generators back to back until the deadline; resolves with the exact number of opens made. */
async function stormUntil(deadline) {
  let opens = 0;
  let runs = 0;
  const rates = [];
  const one = async () => {
    let n = 200_000; // first run short, then sized for ~5 s at the rate seen
    while (Date.now() < deadline) {
      const rate = await new Promise((res, rej) => {
        const g = spawn(storm, [path, String(n)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let e = '';
        g.stderr.on('data', (d) => (e += d));
        g.on('error', rej);
        g.on('close', (code) => (code === 0 ? res(Number(e.trim())) : rej(new Error(`storm exited with ${code}: ${e}`))));
      });
      opens += n;
      runs++;
      rates.push(rate);
      const left = (deadline - Date.now()) / 1000;
      n = Math.max(1000, Math.round(rate * Math.min(5, Math.max(left, 0.2))));
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: GENERATORS }, one));
  return { opens, runs, wallS: (Date.now() - t0) / 1000 };
}

/** Count occurrences of needle in a byte stream (chunks may split it). */
function counter(needle) {
  const nb = Buffer.from(needle);
  let tail = Buffer.alloc(0);
  let bytes = 0;
  const c = {
    count: 0,
    get bytes() {
      return bytes;
    },
    feed(chunk) {
      bytes += chunk.length;
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      let i = buf.indexOf(nb);
      let end = 0;
      while (i >= 0) {
        c.count++;
        end = i + nb.length;
        i = buf.indexOf(nb, end);
      }
      tail = Buffer.from(buf.subarray(Math.max(end, buf.length - nb.length + 1)));
    },
  };
  return c;
}

async function soak(tool, args, onStdout) {
  const bin = join(root, 'tools', tool, 'bin', `${tool}.js`);
  const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (d) => (err += d));
  p.stdout.on('data', onStdout);
  const exited = new Promise((r) => p.on('close', (code, signal) => r({ code, signal })));
  const t0 = Date.now();
  while (!/^Tracing/m.test(err)) {
    if (p.exitCode !== null || Date.now() - t0 > 30000) throw new Error(`${tool} did not start: ${err}`);
    await sleep(20);
  }
  const progs = heldPrograms(p.pid);
  const start = Date.now();
  const samples = [{ s: 0, rssMb: rssMb(p.pid), cpuS: cpuSeconds(p.pid) }];
  const timer = setInterval(() => {
    try {
      samples.push({ s: Math.round((Date.now() - start) / 1000), rssMb: rssMb(p.pid), cpuS: cpuSeconds(p.pid) });
    } catch { /* exited */ }
  }, 5000);
  const made = await stormUntil(start + durationMs);
  await sleep(2000); // let the reader drain what is queued
  clearInterval(timer);
  samples.push({ s: Math.round((Date.now() - start) / 1000), rssMb: rssMb(p.pid), cpuS: cpuSeconds(p.pid) });
  p.kill('SIGINT');
  const killer = setTimeout(() => p.kill('SIGKILL'), 15000);
  const exit = await exited;
  clearTimeout(killer);
  const left = await stillLoaded(progs);
  const stray = err.split('\n').filter((l) => l && !/^Tracing/.test(l) && !/Lost \d+ events/.test(l));
  const lostTotal = /Lost (\d+) events in total/.exec(err);
  const lostSum = [...err.matchAll(/Lost (\d+) events(?! in total)/g)].reduce((a, m) => a + Number(m[1]), 0);
  return { tool, args, made, samples, exit, programs: progs.length, left, stray, lost: lostTotal ? Number(lostTotal[1]) : 0, lostSum, stderr: err };
}

function memory(samples) {
  const start = samples[0].rssMb;
  const atWarm = samples.filter((x) => x.s * 1000 <= warmupMs).at(-1).rssMb;
  const after = samples.filter((x) => x.s * 1000 >= warmupMs);
  const peakAfter = Math.max(...after.map((x) => x.rssMb));
  const peak = Math.max(...samples.map((x) => x.rssMb));
  const end = samples.at(-1).rssMb;
  // least-squares slope after the warm-up, MB per minute
  const n = after.length;
  const mx = after.reduce((a, x) => a + x.s, 0) / n;
  const my = after.reduce((a, x) => a + x.rssMb, 0) / n;
  const sxx = after.reduce((a, x) => a + (x.s - mx) ** 2, 0);
  const slope = sxx ? (after.reduce((a, x) => a + (x.s - mx) * (x.rssMb - my), 0) / sxx) * 60 : 0;
  const growth = peakAfter - atWarm;
  const flat = growth <= Math.max(8, atWarm * 0.1);
  return { start, atWarm, peakAfter, peak, end, slope, growth, flat };
}

const results = [];
const lines = [];
const out = (s = '') => {
  lines.push(s);
  console.log(s);
};
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const when = new Date().toISOString();
const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
out(`# Soak: ${minutes} min of open(2) storm per tool (${when})`);
out('');
out(`${kernel}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${GENERATORS} static storm generators back to back, each`);
out(`traced tool filtered to them with -n soakstorm. RSS of the tool's process every 5 s; "flat": after the`);
out(`first ${fmt(warmupMs / 60000, 1)} min the peak stays within max(8 MB, 10 %) of the RSS then.`);
out('');

let failed = false;
if (!only || only === 'opensnoop') {
  const c = counter(`${path}\n`);
  const r = await soak('opensnoop', ['-n', 'soakstorm'], (d) => c.feed(d));
  r.printed = c.count;
  r.stdoutMb = c.bytes / 1e6;
  r.accounted = r.printed + r.lost;
  r.ok = { losses: r.accounted === r.made.opens, lostReports: r.lost === r.lostSum };
  results.push(r);
}
if (!only || only === 'syscount') {
  let buf = '';
  const objs = [];
  const r = await soak('syscount', ['-L', '-n', 'soakstorm', '--json', '-i', '10'], (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l.trim()) objs.push(JSON.parse(l));
    }
  });
  const sum = (name) => objs.reduce((a, o) => a + (o.syscalls ?? []).filter((s) => s.name === name).reduce((b, s) => b + s.count, 0), 0);
  r.openat = sum('openat');
  r.close = sum('close');
  r.intervals = objs.length;
  r.ok = { losses: r.openat === r.made.opens && r.close === r.made.opens && r.lost === 0 };
  results.push(r);
}

out(`| tool | opens made | opens/s | accounted for | lost (reported) | RSS MB start / after ${fmt(warmupMs / 60000)} min / peak after that / end | slope after warm-up | tool CPU % | exit |`);
out('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  r.memory = memory(r.samples);
  const m = r.memory;
  const cpuPct = ((r.samples.at(-1).cpuS - r.samples[0].cpuS) / (r.samples.at(-1).s || 1)) * 100;
  const clean = r.exit.code === 0 && r.left.length === 0 && r.stray.length === 0;
  r.ok.memory = m.flat;
  r.ok.exit = clean;
  const what = r.tool === 'opensnoop'
    ? `${r.printed.toLocaleString('en')} printed + ${r.lost.toLocaleString('en')} lost = ${r.accounted.toLocaleString('en')}`
    : `openat ${r.openat.toLocaleString('en')}, close ${r.close.toLocaleString('en')} (${r.intervals} JSON objects)`;
  out(`| ${r.tool} ${r.args.join(' ')} | ${r.made.opens.toLocaleString('en')} | ${Math.round(r.made.opens / r.made.wallS).toLocaleString('en')} | ${what} | ${r.lost.toLocaleString('en')} | ${fmt(m.start)} / ${fmt(m.atWarm)} / ${fmt(m.peakAfter)} / ${fmt(m.end)} | ${fmt(m.slope, 2)} MB/min | ${fmt(cpuPct, 0)} | code ${r.exit.code}, ${r.programs} programs attached, ${r.left.length} left |`);
}
out('');
for (const r of results) {
  const bad = Object.entries(r.ok).filter(([, v]) => !v).map(([k]) => k);
  if (bad.length) failed = true;
  out(`- ${r.tool}: ${bad.length ? `FAILED: ${bad.join(', ')}` : 'pass'} (every loss counted: ${r.ok.losses ? 'yes' : 'NO'}; RSS flat: ${r.ok.memory ? 'yes' : 'NO'}, +${fmt(r.memory.growth)} MB after the warm-up; clean exit: ${r.ok.exit ? 'yes' : 'NO'})`);
  for (const l of r.stray) out(`  - stderr: ${l}`);
}
out('');
out(`RSS samples (MB, every 5 s): ${results.map((r) => `${r.tool}: ${r.samples.filter((_, i) => i % 12 === 0 || i === r.samples.length - 1).map((x) => `${x.s}s ${fmt(x.rssMb)}`).join(', ')}`).join('; ')}`);

const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = when.replace(/[:.]/g, '-');
writeFileSync(join(dir, `soak-${stamp}.md`), lines.join('\n') + '\n');
writeFileSync(join(dir, 'soak-latest.md'), lines.join('\n') + '\n');
writeFileSync(join(dir, `soak-${stamp}.json`), JSON.stringify({ when, minutes, kernel, generators: GENERATORS, results: results.map(({ stderr, ...r }) => r) }, null, 1) + '\n');
console.error(`soak: written to bench/results/soak-${stamp}.md (and .json, soak-latest.md)`);
rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);

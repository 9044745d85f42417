// The output formats of libs/flame, checked by reading them back: speedscope's structure and totals,
// pprof decoded with pprof-format, the SVG parsed as XML and rendered in headless chromium.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, describe, expect, it } from 'vitest';
import { callTree, SPEEDSCOPE_SCHEMA, toPprof, toSpeedscope, toSvg, type FlameStack } from '../src/index.js';

const st = (names: string, count: number, modules: Record<string, string> = {}): FlameStack => ({
  frames: names.split(';').map((name) => ({ name, ...(modules[name] ? { module: modules[name] } : {}) })),
  count,
});
const MOD = { main: 'callchain', recipe_a: 'callchain', recipe_b: 'callchain', recipe_c: 'callchain', do_syscall_64: '[kernel]', 'x<y&"z">': 'libweird.so' };
const STACKS: FlameStack[] = [
  st('callchain;main;recipe_a;recipe_b;recipe_c;do_syscall_64', 37, MOD),
  st('callchain;main;recipe_a;recipe_b', 5, MOD),
  st('callchain;main;other', 8, MOD),
  st('sh;x<y&"z">', 2, MOD),
  st('never;seen', 0, MOD),
];
const TOTAL = 37 + 5 + 8 + 2;

const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-flame-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('callTree', () => {
  it('merges stacks by frame name and sums counts', () => {
    const t = callTree(STACKS);
    expect(t.total).toBe(TOTAL);
    expect(t.children.map((c) => [c.name, c.total])).toEqual([['callchain', 50], ['sh', 2]]);
    const main = t.children[0].children[0];
    expect(main.children.map((c) => c.name)).toEqual(['other', 'recipe_a']);
    const b = main.children[1].children[0];
    expect([b.name, b.total, b.self]).toEqual(['recipe_b', 42, 5]);
  });
});

describe('speedscope', () => {
  it('one sampled profile: samples root first as frame indexes, weights the counts, totals agree', () => {
    const f = toSpeedscope(STACKS, { name: 'stackcount test' });
    const json = JSON.parse(JSON.stringify(f));
    expect(json.$schema).toBe(SPEEDSCOPE_SCHEMA);
    expect(json.profiles).toHaveLength(1);
    const p = json.profiles[0];
    expect(p).toMatchObject({ type: 'sampled', name: 'stackcount test', unit: 'none', startValue: 0, endValue: TOTAL });
    expect(p.samples).toHaveLength(4); // the zero-count stack is left out
    expect(p.weights).toEqual([37, 5, 8, 2]);
    expect(p.weights.reduce((a: number, b: number) => a + b, 0)).toBe(p.endValue);
    const names = json.shared.frames.map((x: { name: string }) => x.name);
    expect(new Set(names).size).toBe(names.length);
    const stacks = p.samples.map((s: number[]) => s.map((i) => names[i]).join(';'));
    expect(stacks).toEqual(STACKS.slice(0, 4).map((s) => s.frames.map((x) => x.name).join(';')));
    for (const s of p.samples) for (const i of s) expect(Number.isInteger(i) && i >= 0 && i < names.length).toBe(true);
  });
});

describe('pprof', () => {
  it('gzipped protobuf that pprof-format decodes back to the same stacks and counts', () => {
    const buf = toPprof(STACKS, { name: 'stackcount test', startMs: 1_700_000_000_000, durationMs: 2500 });
    expect([buf[0], buf[1]]).toEqual([0x1f, 0x8b]);
    const p = Profile.decode(gunzipSync(buf));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => [str(t.type), str(t.unit)])).toEqual([['count', 'count']]);
    expect(Number(p.durationNanos)).toBe(2.5e9);
    const loc = new Map(p.location.map((l) => [Number(l.id), l]));
    const fn = new Map(p.function.map((f) => [Number(f.id), f]));
    const map = new Map(p.mapping.map((m) => [Number(m.id), str(m.filename)]));
    const back = p.sample.map((s) => ({
      frames: s.locationId
        .map((id) => {
          const l = loc.get(Number(id))!;
          expect(l.line).toHaveLength(1);
          const name = str(fn.get(Number(l.line[0].functionId))!.name);
          return { name, ...(Number(l.mappingId) ? { module: map.get(Number(l.mappingId)) } : {}) };
        })
        .reverse(), // pprof: leaf first
      count: s.value.map(Number),
    }));
    expect(back).toEqual(STACKS.slice(0, 4).map((s) => ({ frames: s.frames, count: [s.count] })));
    // one mapping per module, one location per distinct frame
    expect([...map.values()].sort()).toEqual(['[kernel]', 'callchain', 'libweird.so']);
    expect(p.location).toHaveLength(9);
  });
});

/** Pixels of an 8-bit RGB/RGBA PNG (what chromium writes), through node:zlib. */
function decodePng(buf: Buffer): { width: number; height: number; px: (x: number, y: number) => number[] } {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let off = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      expect([2, 6]).toContain(data[9]);
      bpp = data[9] === 6 ? 4 : 3;
      expect(data[12]).toBe(0); // not interlaced
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[y * stride + i - bpp] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= bpp ? out[(y - 1) * stride + i - bpp] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = (line[i] + pred) & 0xff;
    }
  }
  return { width, height, px: (x, y) => [...out.subarray(y * stride + x * bpp, y * stride + x * bpp + 3)] };
}

function chromium(): string | undefined {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}
const browser = chromium();
if (!browser && process.env.CI === 'true') throw new Error('chromium is not installed (scripts/setup.sh installs it from scripts/packages.txt): the SVG render test cannot run under CI=true');

describe('svg flame graph', () => {
  const svg = toSvg(STACKS, { title: 'stackcount syscalls:sys_enter_getppid' });
  const file = join(dir, 'flame.svg');
  writeFileSync(file, svg);

  it('is well-formed XML with one frame per call-tree node, widths proportional to counts', () => {
    const lint = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
    expect(lint.error, 'xmllint (libxml2-utils, from scripts/setup.sh)').toBeUndefined();
    expect(lint.status, lint.stderr).toBe(0);
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/); // nothing to fetch: only XML namespaces
    expect(svg).not.toMatch(/<script[^>]*\bsrc=/);
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toContain('all (52 samples, 100.00%)');
    expect(titles).toContain('recipe_b (42 samples, 80.77%)');
    expect(titles).toContain('do_syscall_64 (37 samples, 71.15%)');
    expect(titles).toContain('x&lt;y&amp;&quot;z&quot;&gt; (2 samples, 3.85%)');
    expect(titles.some((t) => t.startsWith('never'))).toBe(false);
    const width = (name: string) => Number(new RegExp(`<title>${name} \\(.*?</title><rect [^>]*width="([\\d.]+)"`).exec(svg)![1]);
    expect(width('all')).toBeCloseTo(1180, 1);
    expect(width('recipe_b')).toBeCloseTo((1180 * 42) / 52, 1);
    expect(width('other')).toBeCloseTo((1180 * 8) / 52, 1);
  });

  it.skipIf(!browser)('renders in headless chromium: a screenshot with the frames drawn, a DOM with their names, search and zoom run', () => {
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
    const profile = () => ['--user-data-dir=' + mkdtempSync(join(dir, 'chrome-'))];
    const png = join(dir, 'out.png');
    execFileSync(browser!, [...flags, ...profile(), `--screenshot=${png}`, '--window-size=1200,800', file], { stdio: 'ignore', timeout: 60000 });
    expect(existsSync(png)).toBe(true);
    const img = decodePng(readFileSync(png));
    expect([img.width, img.height]).toEqual([1200, 800]);
    // the root frame "all" spans the width at the bottom of the graph: its colour, not the background's
    const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1]);
    const rootY = height - 28 - 17 + 8;
    expect(img.px(600, rootY)).toEqual([220, 120, 60]);
    expect(img.px(600, 5)).toEqual([250, 246, 238]);
    const colours = new Set<string>();
    for (let y = 0; y < height; y += 3) for (let x = 0; x < 1200; x += 5) colours.add(img.px(x, y).join(','));
    expect(colours.size).toBeGreaterThan(8);

    const dom = (hash: string) =>
      execFileSync(browser!, [...flags, ...profile(), '--dump-dom', `file://${file}${hash}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 });
    const plain = dom('');
    for (const n of ['recipe_a', 'recipe_b', 'recipe_c', 'do_syscall_64', 'callchain', 'other']) expect(plain).toContain(`<title>${n} (`);
    // the inline script ran: the search of the fragment marked the recipe_ frames and counted their share
    const searched = dom('#search=recipe_');
    expect(/data-matches="(\d+)"/.exec(searched)?.[1]).toBe('3');
    expect(searched).toContain('Matched: 80.77% (3 frames)');
    expect([...searched.matchAll(/<g class="f m"[^>]*><title>([^ ]+)/g)].map((m) => m[1])).toEqual(['recipe_a', 'recipe_b', 'recipe_c']);
    // zoom on recipe_b: it spans the width, frames beside it are hidden, its callers faded
    const zoomed = dom('#zoom=recipe_b');
    expect(zoomed).toContain('data-zoomed="recipe_b"');
    expect(zoomed).toMatch(/<g class="f"[^>]*><title>recipe_b \(.*?<\/title><rect x="10.00" [^>]*width="1180.00"/);
    expect(zoomed).toMatch(/<g class="f h"[^>]*><title>other \(/);
    expect(zoomed).toMatch(/<g class="f z"[^>]*><title>main \(/);
  }, 180000);
});

/**
 * A self-contained interactive flame graph: one SVG file, no network, no external script.
 * Each frame is a <g> holding a <title> (name, count, share: what hovering shows), a <rect> whose
 * width is its share of all samples, and its (truncated) name. The inline script zooms on click
 * (Escape or "Reset zoom" goes back), and searches: the box at the top right (or `/`) takes a
 * case-insensitive substring or /regex/, matching frames turn purple and the matched share is shown.
 * A URL fragment does the same on load: `file.svg#search=NAME` and `#zoom=NAME`.
 */
import { callTree, totalCount, type FlameNode, type FlameStack } from './stacks.js';

export interface SvgOptions {
  title: string;
  /** what one count is, in the hover text: `samples` by default */
  countName?: string;
  /** image width in pixels (default 1200) */
  width?: number;
}

const FRAME_H = 17;
const PAD = 10;
const TOP = 64; // title, subtitle, controls
const BOTTOM = 28; // details line
/** frames narrower than this many pixels are left out (their share stays in their parent) */
const MIN_PX = 0.1;

/** Text for XML content and attributes; characters XML 1.0 forbids become `?`. */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A warm colour from the frame's name: the same name has the same colour in every graph. */
function colour(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  h >>>= 0;
  const r = 205 + (h % 51);
  const g = 60 + ((h >>> 8) % 171);
  const b = (h >>> 16) % 56;
  return `rgb(${r},${g},${b})`;
}

function share(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(2)}%`;
}

export function toSvg(stacks: readonly FlameStack[], opts: SvgOptions): string {
  const width = opts.width ?? 1200;
  const unit = opts.countName ?? 'samples';
  const tree = callTree(stacks, 'all');
  const total = totalCount(stacks.filter((s) => s.count > 0));
  const span = width - 2 * PAD;
  let maxDepth = 0;
  const depthOf = (n: FlameNode, d: number): void => {
    if (n.total === 0) return;
    if (d > maxDepth) maxDepth = d;
    for (const c of n.children) depthOf(c, d + 1);
  };
  depthOf(tree, 0);
  const height = TOP + (maxDepth + 1) * FRAME_H + BOTTOM;
  const frames: string[] = [];
  const walk = (n: FlameNode, d: number, start: number): void => {
    const w = total > 0 ? (n.total / total) * span : 0;
    if (w < MIN_PX && d > 0) return;
    const x = PAD + (total > 0 ? (start / total) * span : 0);
    const y = height - BOTTOM - (d + 1) * FRAME_H;
    const name = xmlEscape(n.name);
    const label = fitText(n.name, w);
    frames.push(
      `<g class="f" data-x="${start}" data-w="${n.total}" data-d="${d}">` +
        `<title>${name} (${n.total} ${unit}, ${share(n.total, total || 1)})</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(w, 0).toFixed(2)}" height="${FRAME_H - 1}" rx="2" fill="${d === 0 ? 'rgb(220,120,60)' : colour(n.name)}"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="${y + FRAME_H - 5}">${xmlEscape(label)}</text>` +
        `</g>`,
    );
    let at = start;
    for (const c of n.children) {
      walk(c, d + 1, at);
      at += c.total;
    }
  };
  walk(tree, 0, 0);

  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-total="${total}" data-unit="${xmlEscape(unit)}">`,
    '<style>',
    'text { font: 12px Verdana, "DejaVu Sans", sans-serif; fill: #000; }',
    '.f text { pointer-events: none; }',
    '.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }',
    '.f.m rect { fill: rgb(230,0,230); }',
    '.f.z rect { opacity: 0.55; }',
    '.h { display: none; }',
    '#title { font-size: 17px; text-anchor: middle; }',
    '.btn { cursor: pointer; fill: #224; text-decoration: underline; }',
    '</style>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="rgb(250,246,238)"/>`,
    `<text id="title" x="${width / 2}" y="24">${xmlEscape(opts.title)}</text>`,
    `<text id="sub" x="${PAD}" y="46">${total} ${xmlEscape(unit)} in ${plural(stacks.filter((s) => s.count > 0).length, 'stack')}. Hover: frame and share. Click: zoom. Search: box or /.</text>`,
    `<text id="unzoom" class="btn h" x="${PAD}" y="${height - 10}">Reset zoom</text>`,
    `<text id="details" x="${PAD + 90}" y="${height - 10}"> </text>`,
    `<text id="matched" x="${width - PAD}" y="${height - 10}" style="text-anchor:end"> </text>`,
    `<foreignObject x="${width - PAD - 220}" y="30" width="220" height="26">`,
    '<input xmlns="http://www.w3.org/1999/xhtml" id="search" type="search" placeholder="search (substring or /regex/)" style="width:210px;font:12px sans-serif"/>',
    '</foreignObject>',
    '<g id="frames">',
    ...frames,
    '</g>',
    `<script type="text/ecmascript"><![CDATA[${SCRIPT.replace(/\]\]>/g, ']]]]><![CDATA[>')}]]></script>`,
    '</svg>',
    '',
  ].join('\n');
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The name cut to what fits in w pixels at ~7 px a character, with `..` when cut. */
function fitText(name: string, w: number): string {
  const fit = Math.floor((w - 6) / 7);
  if (fit < 3) return '';
  return name.length <= fit ? name : `${name.slice(0, fit - 2)}..`;
}

// The inline script: plain ES5-ish JavaScript that any browser runs from a file:// SVG.
const SCRIPT = `
(function () {
  var svg = document.documentElement;
  var total = Number(svg.getAttribute('data-total')) || 1;
  var unit = svg.getAttribute('data-unit');
  var W = Number(svg.getAttribute('width'));
  var PAD = ${PAD}, SPAN = W - 2 * PAD;
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var matched = document.getElementById('matched');
  var unzoomBtn = document.getElementById('unzoom');
  var input = document.getElementById('search');
  function num(g, a) { return Number(g.getAttribute('data-' + a)); }
  function nameOf(g) { var t = g.querySelector('title').textContent; return t.slice(0, t.lastIndexOf(' (')); }
  function fit(name, w) { var n = Math.floor((w - 6) / 7); if (n < 3) return ''; return name.length <= n ? name : name.slice(0, n - 2) + '..'; }
  function place(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', Math.max(w, 0).toFixed(2));
    t.setAttribute('x', (x + 3).toFixed(2)); t.textContent = fit(nameOf(g), w);
  }
  function zoom(z) {
    var zx = num(z, 'x'), zw = num(z, 'w'), zd = num(z, 'd');
    frames.forEach(function (g) {
      var x = num(g, 'x'), w = num(g, 'w'), d = num(g, 'd');
      g.classList.remove('h'); g.classList.remove('z');
      if (d < zd) {
        if (x <= zx && x + w >= zx + zw) { g.classList.add('z'); place(g, PAD, SPAN); } else g.classList.add('h');
      } else if (x >= zx && x + w <= zx + zw) {
        var pw = (w / zw) * SPAN;
        if (pw < ${MIN_PX}) g.classList.add('h'); else place(g, PAD + ((x - zx) / zw) * SPAN, pw);
      } else g.classList.add('h');
    });
    svg.setAttribute('data-zoomed', nameOf(z));
    unzoomBtn.classList.remove('h');
  }
  function unzoom() {
    frames.forEach(function (g) {
      g.classList.remove('h'); g.classList.remove('z');
      place(g, PAD + (num(g, 'x') / total) * SPAN, (num(g, 'w') / total) * SPAN);
    });
    svg.removeAttribute('data-zoomed');
    unzoomBtn.classList.add('h');
  }
  function search(term) {
    var re = null;
    if (term) {
      var m = /^\\/(.*)\\/$/.exec(term);
      try { re = m ? new RegExp(m[1]) : null; } catch (e) { re = null; }
    }
    var lower = String(term || '').toLowerCase();
    var spans = [];
    var count = 0;
    frames.forEach(function (g) {
      var name = nameOf(g);
      var hit = !!term && num(g, 'd') > 0 && (re ? re.test(name) : name.toLowerCase().indexOf(lower) >= 0);
      if (hit) { g.classList.add('m'); count++; spans.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]); } else g.classList.remove('m');
    });
    // the matched share: the union of the matching frames' spans (a frame inside a matched one adds nothing)
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) {
      if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; } else if (s[1] > end) { sum += s[1] - end; end = s[1]; }
    });
    svg.setAttribute('data-matches', String(count));
    matched.textContent = term ? 'Matched: ' + (100 * sum / total).toFixed(2) + '% (' + count + ' frames)' : ' ';
  }
  frames.forEach(function (g) {
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
    g.addEventListener('click', function () { if (num(g, 'd') === 0) unzoom(); else zoom(g); });
  });
  unzoomBtn.addEventListener('click', unzoom);
  if (input) input.addEventListener('input', function () { search(input.value); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { unzoom(); if (input) { input.value = ''; search(''); } }
    else if ((e.key === '/' || (e.key === 'f' && (e.ctrlKey || e.metaKey))) && input && document.activeElement !== input) { e.preventDefault(); input.focus(); }
  });
  var hash = decodeURIComponent((location.hash || '').slice(1));
  var hs = /(?:^|&)search=([^&]*)/.exec(hash), hz = /(?:^|&)zoom=([^&]*)/.exec(hash);
  if (hz) { for (var i = 0; i < frames.length; i++) if (nameOf(frames[i]) === hz[1] && num(frames[i], 'd') > 0) { zoom(frames[i]); break; } }
  if (hs) { if (input) input.value = hs[1]; search(hs[1]); }
})();
`;

// Stands in for the cliui package inside the one-file builds (scripts/bundle.mjs). cliui (with
// wrap-ansi, strip-ansi, ansi-styles and string-width) lays out yargs' own usage screen, which our
// commands never show (--help comes from the option table, libs/cli/src/args.ts); loading it would
// cost every start. This keeps the same API with plain layout: rows of columns, each column a fixed
// or an equal share of the width, words wrapped, padding [top, right, bottom, left], align right.
'use strict';
const stringWidth = require('./string-width.cjs');

function wrapWords(text, width) {
  const out = [];
  for (const para of String(text).split('\n')) {
    let cur = '';
    for (const w of para.split(/ +/)) {
      if (cur && stringWidth(cur) + 1 + stringWidth(w) > width) {
        out.push(cur);
        cur = w;
      } else cur = cur ? `${cur} ${w}` : w;
    }
    out.push(cur);
  }
  return out;
}

module.exports = function cliui(opts = {}) {
  const total = opts.width || 80;
  const wrap = opts.wrap !== false;
  let rows = [];
  const norm = (c) => (typeof c === 'object' && c !== null ? { ...c, text: String(c.text ?? '') } : { text: String(c) });
  const ui = {
    div(...cols) {
      if (cols.length === 1 && typeof cols[0] === 'string' && cols[0].includes('\t')) cols = cols[0].split('\t');
      const row = cols.map(norm);
      rows.push(row);
      return row;
    },
    span(...cols) {
      ui.div(...cols).span = true;
    },
    resetOutput() {
      rows = [];
    },
    rowToString(row) {
      const fixed = row.reduce((n, c) => n + (c.width || 0), 0);
      const free = row.filter((c) => !c.width).length;
      const share = free ? Math.max(1, Math.floor((total - fixed) / free)) : 0;
      const cells = row.map((c) => {
        const [pt, pr, pb, pl] = c.padding || [0, 0, 0, 0];
        const width = c.width || share;
        const inner = Math.max(1, width - pl - pr);
        const lines = wrap ? wrapWords(c.text, inner) : c.text.split('\n');
        const padded = lines.map((l) => {
          const gap = Math.max(0, inner - stringWidth(l));
          return ' '.repeat(pl) + (c.align === 'right' ? ' '.repeat(gap) + l : l + ' '.repeat(gap)) + ' '.repeat(pr);
        });
        return [...Array(pt).fill(' '.repeat(width)), ...padded, ...Array(pb).fill(' '.repeat(width))];
      });
      const height = Math.max(0, ...cells.map((c) => c.length));
      const out = [];
      for (let i = 0; i < height; i++) out.push(cells.map((c, j) => c[i] ?? ' '.repeat(row[j].width || share)).join('').replace(/\s+$/, ''));
      return out.join('\n');
    },
    toString() {
      return rows.map((r) => ui.rowToString(r)).join('\n');
    },
  };
  return ui;
};

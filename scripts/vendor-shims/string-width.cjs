// Stands in for the string-width package inside the one-file builds (scripts/bundle.mjs): the
// package's emoji tables cost startup time, and only text layout (yargs' own usage screen, which our
// tools do not use: --help is rendered from the option table) ever measures a string. ANSI escapes,
// control and combining characters count 0 columns, East Asian wide/fullwidth characters and emoji 2,
// everything else 1.
'use strict';
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)/g;

const wide = (cp) =>
  (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
  (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
  (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
  (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);

const zero = (cp) =>
  cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
  (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff;

function stringWidth(text) {
  if (typeof text !== 'string' || text.length === 0) return 0;
  let width = 0;
  for (const ch of text.includes('\u001B') ? text.replace(ANSI, '') : text) {
    const cp = ch.codePointAt(0);
    if (!zero(cp)) width += wide(cp) ? 2 : 1;
  }
  return width;
}
module.exports = stringWidth;
module.exports.default = stringWidth;

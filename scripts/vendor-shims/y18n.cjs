// Stands in for the y18n package inside the one-file builds (scripts/bundle.mjs). yargs asks y18n for
// every message it prints; the package reads a locale file from disk on the first message, which a
// bundle has not got. Our messages are English: the keys are the text, formatted as y18n would
// (%s, %d; __n picks singular or plural by the count).
'use strict';
const { format } = require('node:util');

module.exports = function y18n() {
  let locale = 'en';
  const __ = (str, ...args) => {
    // y18n also serves tagged template literals: __`text ${x}`
    if (Array.isArray(str)) return str.reduce((acc, s, i) => acc + s + (i < args.length ? String(args[i]) : ''), '');
    if (typeof args[args.length - 1] === 'function') args.pop()();
    return format(str, ...args);
  };
  const __n = (singular, plural, quantity, ...args) => {
    if (typeof args[args.length - 1] === 'function') args.pop()();
    const str = quantity === 1 ? singular : plural;
    return str.includes('%d') ? format(str, quantity, ...args) : format(str, ...args);
  };
  return {
    __,
    __n,
    setLocale: (l) => void (locale = l),
    getLocale: () => locale,
    updateLocale: () => {},
    locale,
  };
};

/**
 * What a tool's own header (`bpf/<name>.h`) declares besides structs: the names of its enumerators
 * (their values are taken from BTF) and its integer `#define`s, evaluated here. Only object-like
 * macros whose body is an integer expression of literals, earlier such macros, the header's
 * enumerators and C's integer operators are kept; anything else (header guards, strings, function-like macros) is left out.
 */

export interface HeaderDefine { name: string; value: bigint }
export interface HeaderInfo { defines: HeaderDefine[]; enumerators: Set<string> }

const stripComments = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');

export function parseHeader(text: string): HeaderInfo {
  const src = stripComments(text.replace(/\\\r?\n/g, ' '));
  const enumerators = new Set<string>();
  // an enumerator's value (explicit, or the one before plus one) may be used by a #define below
  const known = new Map<string, bigint>();
  for (const m of src.matchAll(/\benum\s*\w*\s*\{([^}]*)\}/g)) {
    let next: bigint | undefined = 0n;
    for (const item of m[1].split(',')) {
      const em = /^\s*([A-Za-z_]\w*)\s*(?:=\s*(.*?))?\s*$/s.exec(item);
      if (!em) continue;
      enumerators.add(em[1]);
      const v: bigint | undefined = em[2] === undefined ? next : evalInt(em[2], known);
      if (v !== undefined) known.set(em[1], v);
      next = v === undefined ? undefined : v + 1n;
    }
  }
  const defines: HeaderDefine[] = [];
  for (const m of src.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?![\w(])[ \t]*(.*)$/gm)) {
    const value = evalInt(m[2].trim(), known);
    if (value === undefined) continue;
    known.set(m[1], value);
    defines.push({ name: m[1], value });
  }
  return { defines, enumerators };
}

const TOKEN = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|[-+*/%&|^~()])/y;

/** An integer expression of C (as the preprocessor reads it: 64-bit), or undefined if it is not one. */
export function evalInt(expr: string, known: Map<string, bigint>): bigint | undefined {
  if (!expr) return undefined;
  const toks: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < expr.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(expr);
    if (!m) return undefined;
    let t = m[1];
    pos = TOKEN.lastIndex;
    // integer suffixes (1U, 1ULL) belong to the literal
    if (/^(0[xX][0-9a-fA-F]+|\d+)$/.test(t)) {
      const suf = /^[uUlL]+/.exec(expr.slice(pos));
      if (suf) pos += suf[0].length;
      if (/^0\d/.test(t)) t = '0o' + t.slice(1);
    }
    toks.push(t);
    if (pos < expr.length && /^\s+$/.test(expr.slice(pos))) break;
  }
  let i = 0;
  const peek = () => toks[i];
  const PREC: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };
  const unary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) throw new Error('end');
    if (t === '(') {
      const v = binary(0);
      if (toks[i++] !== ')') throw new Error(')');
      return v;
    }
    if (t === '-') return BigInt.asIntN(64, -unary());
    if (t === '+') return unary();
    if (t === '~') return BigInt.asIntN(64, ~unary());
    if (/^(0[xXo]?)?[0-9a-fA-F]+$/.test(t) && /^\d|^0[xXo]/.test(t)) return BigInt(t);
    const k = known.get(t);
    if (k === undefined) throw new Error(`unknown ${t}`);
    return k;
  };
  const binary = (min: number): bigint => {
    let l = unary();
    for (;;) {
      const op = peek();
      const p = op === undefined ? undefined : PREC[op];
      if (p === undefined || p <= min) return l;
      i++;
      const r = binary(p);
      switch (op) {
        case '|': l = l | r; break;
        case '^': l = l ^ r; break;
        case '&': l = l & r; break;
        case '<<': l = BigInt.asIntN(64, l << r); break;
        case '>>': l = l >> r; break;
        case '+': l = BigInt.asIntN(64, l + r); break;
        case '-': l = BigInt.asIntN(64, l - r); break;
        case '*': l = BigInt.asIntN(64, l * r); break;
        case '/': if (r === 0n) throw new Error('/0'); l = l / r; break;
        case '%': if (r === 0n) throw new Error('/0'); l = l % r; break;
      }
    }
  };
  try {
    const v = binary(0);
    return i === toks.length ? v : undefined;
  } catch {
    return undefined;
  }
}

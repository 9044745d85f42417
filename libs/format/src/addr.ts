/** IPv4/IPv6 addresses from the kernel's bytes (network order) to text, as inet_ntop(3) writes them. */

export const AF_INET = 2;
export const AF_INET6 = 10;

/**
 * `family` is AF_INET (the first 4 bytes count) or AF_INET6 (16 bytes): the longest run of two or
 * more zero groups becomes `::` (the first of equals), an IPv4-mapped address ends in dotted
 * quads. Another family prints as `family N`.
 */
export function addrText(family: number, b: Uint8Array): string {
  if (family === AF_INET) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (family !== AF_INET6) return `family ${family}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

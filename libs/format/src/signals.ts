/** Signal names and numbers for Linux, real-time signals included (SIGRTMIN+3). */
import { constants } from 'node:os';

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

let byNumber: Map<number, string> | undefined;

function table(): Map<number, string> {
  if (!byNumber) {
    byNumber = new Map();
    for (const [name, n] of Object.entries(constants.signals)) {
      if (name === 'SIGIOT' || name === 'SIGPOLL' || name === 'SIGUNUSED' || name === 'SIGLOST') continue;
      if (!byNumber.has(n)) byNumber.set(n, name);
    }
  }
  return byNumber;
}

export function signalName(n: number): string {
  if (n === 0) return '0';
  const s = table().get(n);
  if (s) return s;
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  if (n > SIGRTMIN && n < SIGRTMAX) return `SIGRTMIN+${n - SIGRTMIN}`;
  return `SIG${n}`;
}

/** "TERM", "SIGTERM", "15", "RTMIN+3", "SIGRTMAX-1" → number; undefined when unknown. */
export function signalNumber(text: string): number | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n >= 0 && n <= SIGRTMAX ? n : undefined;
  }
  const name = t.startsWith('SIG') ? t : `SIG${t}`;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const n = rt[2] ? base + (rt[2] === '+' ? 1 : -1) * Number(rt[3]) : base;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  const n = (constants.signals as Record<string, number>)[name];
  return n;
}

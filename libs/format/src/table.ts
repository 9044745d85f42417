/** Summary tables (at exit or per interval), borderless like the classic tools' output. */
import { createRequire } from 'node:module';
import type TableType from 'cli-table3';

// loaded on first use: streaming tools never pay for it at startup
let Table: typeof TableType | undefined;

export function table(head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  Table ??= createRequire(import.meta.url)('cli-table3') as typeof TableType;
  const t = new Table({
    head,
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 1, compact: true },
    ...(align ? { colAligns: align } : {}),
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

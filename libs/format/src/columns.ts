/** Aligned columns for streaming output: a header once, then one row per event, no buffering of rows. */
export interface Column {
  name: string;
  width: number;
  align?: 'left' | 'right';
}

export class Columns {
  constructor(readonly columns: Column[]) {}

  header(): string {
    return this.row(this.columns.map((c) => c.name));
  }

  /** The last column is never padded (it is usually a path or free text). */
  row(values: (string | number)[]): string {
    let s = '';
    const last = this.columns.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = this.columns[i];
      const v = String(values[i] ?? '');
      if (i === last) s += v;
      else s += (c.align === 'right' ? v.padStart(c.width) : v.padEnd(c.width)) + ' ';
    }
    return s;
  }
}

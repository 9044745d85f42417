/** opensnoop's table columns (the same list for the header and every row). */
import type { Column } from '@bpf-recipes/format';

/**
 * FLAGS is as wide as the longest flag set libc commonly passes, opendir()'s
 * O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC (41), so rows stay aligned; MODE (fixed width) comes
 * before it so a rarer, longer set (fts's, 61) can only push PATH, the last column, to the right.
 */
export const FLAGS_WIDTH = 41;

export function tableColumns(o: { timestamp?: boolean; printUid?: boolean; extended?: boolean }): Column[] {
  const cols: Column[] = [];
  if (o.timestamp) cols.push({ name: 'TIME', width: 12 });
  if (o.printUid) cols.push({ name: 'UID', width: 6, align: 'right' });
  cols.push({ name: 'PID', width: 7, align: 'right' }, { name: 'COMM', width: 16 }, { name: 'FD', width: 3, align: 'right' }, { name: 'ERR', width: 3, align: 'right' });
  if (o.extended) cols.push({ name: 'MODE', width: 5 }, { name: 'FLAGS', width: FLAGS_WIDTH });
  cols.push({ name: 'PATH', width: 0 });
  return cols;
}

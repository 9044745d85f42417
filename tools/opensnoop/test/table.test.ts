import { describe, expect, it } from 'vitest';
import { Columns } from '@bpf-recipes/format';
import { flagNames } from '../src/flags.js';
import { tableColumns } from '../src/tool.js';

// flag sets libc passes every day (x86_64 values): opendir(), fopen("w"), mkstemp(), open(O_RDONLY|O_CLOEXEC)
const COMMON = [
  0o4000 | 0o200000 | 0o2000000, // O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC (41 characters)
  0o1 | 0o100 | 0o1000 | 0o2000000, // O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC
  0o2 | 0o100 | 0o200 | 0o2000000, // O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC
  0o2000000,
  0,
];

describe('opensnoop -e table', () => {
  it('MODE, then FLAGS wide enough for common flag sets: PATH starts under its header on every row', () => {
    const t = new Columns(tableColumns({ timestamp: true, printUid: true, extended: true }));
    const header = t.header();
    expect(header.split(/\s+/)).toEqual(['TIME', 'UID', 'PID', 'COMM', 'FD', 'ERR', 'MODE', 'FLAGS', 'PATH']);
    for (const f of COMMON) {
      const row = t.row(['07:44:24.657', 0, 15203, 'python3', 3, 0, '0640', flagNames(f), '/tmp/x']);
      expect(row.indexOf('/tmp/x'), row).toBe(header.indexOf('PATH'));
      expect(row.indexOf('0640')).toBe(header.indexOf('MODE'));
    }
  });
  it('a longer flag set pushes only PATH, never MODE', () => {
    const t = new Columns(tableColumns({ extended: true }));
    const long = flagNames(0o400 | 0o4000 | 0o200000 | 0o400000 | 0o2000000);
    expect(long.length).toBeGreaterThan(41);
    const row = t.row([1, 'find', 3, 0, '-', long, '/etc']);
    expect(row.indexOf(' - ') + 1).toBe(t.header().indexOf('MODE'));
  });
});

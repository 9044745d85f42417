/** biosnoop's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'biosnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace block I/O: every request with the process that issued it, the disk, offset, size, queue time and device latency — from tracepoints only.',
  examples: [
    ['biosnoop', 'every block I/O request'],
    ['biosnoop -Q', 'with the time spent queued in the I/O scheduler'],
    ['biosnoop -P', 'with the access pattern: sequential (S) or random (R)'],
    ['biosnoop --disk vda --min-latency 10', 'disk vda only, requests slower than 10 ms'],
    ['biosnoop -p 1234', 'requests submitted by PID 1234 (direct I/O, or page-cache reads it caused)'],
    ['biosnoop --hist -d 10', 'a log2 latency histogram per disk, after 10 seconds'],
  ],
  options: {
    queued: { alias: 'Q', type: 'boolean', describe: 'add QUE(ms): time from insertion into the I/O scheduler to issue' },
    pattern: { alias: 'P', type: 'boolean', describe: 'add P: S if a request starts where the disk\'s previous completed one ended (sequential), R if not, ? for the first' },
    disk: { type: 'string', arg: 'NAME', describe: 'only this disk (vda, nvme0n1; filtered in the kernel)' },
    'min-latency': { type: 'string', arg: 'MS', describe: 'only requests whose device latency is at least MS milliseconds' },
    hist: { type: 'boolean', describe: 'instead of events, a log2 histogram of device latency per disk at exit (aggregated in the kernel)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME(ms) since the start, COMM and PID of the submitter (a kernel thread for writeback), DISK, T (blktrace ' +
    'letters: R read, W write, F flush, D discard; S sync, M metadata, A readahead, F after the op: FUA), OFFSET and LEN in ' +
    'bytes, LAT(ms) from issue to completion. Process filters apply when a request is submitted, in its submitter\'s context.',
};

export interface BiosnoopArgs {
  queued?: boolean;
  pattern?: boolean;
  disk?: string;
  'min-latency'?: string;
  hist?: boolean;
}

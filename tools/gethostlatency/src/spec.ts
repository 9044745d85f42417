/** gethostlatency's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'gethostlatency',
  version: packageVersion(import.meta.url),
  summary: 'Trace name resolution through libc (getaddrinfo, gethostbyname and relatives): who resolved which host, how long it took, and the result.',
  examples: [
    ['gethostlatency', 'every lookup through the system libc'],
    ['gethostlatency -e', 'with the addresses each lookup returned'],
    ['gethostlatency --min-latency 50', 'only lookups slower than 50 ms'],
    ['gethostlatency -p 1234', 'PID 1234 only, through the libc it has mapped (a container\'s own)'],
    ['gethostlatency --libc /opt/app/lib/libc.so.6', 'probe another libc'],
  ],
  options: {
    extended: { alias: 'e', type: 'boolean', describe: 'add the resolved addresses (up to 4 per lookup)' },
    'min-latency': { type: 'string', arg: 'MS', describe: 'only lookups that took at least MS milliseconds (filtered in the kernel)' },
    libc: { alias: 'l', type: 'string', arg: 'PATH', describe: 'the libc to probe (default: the system\'s; with -p: the one each process has mapped)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME at return, PID, COMM, LATms (3 decimals), RET (0, an EAI_* name for getaddrinfo, or the h_errno name / ' +
    'NULL for the gethostbyname family), HOST asked for (gethostbyaddr: the address). Probes: uprobes on getaddrinfo, ' +
    'gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r, gethostbyaddr and gethostbyaddr_r; those a libc ' +
    'lacks are skipped.',
};

export interface GhlArgs {
  extended?: boolean;
  'min-latency'?: string;
  libc?: string;
}

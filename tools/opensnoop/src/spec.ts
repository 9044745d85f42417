/** opensnoop's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'opensnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace open(2), openat(2) and openat2(2) system-wide: who opened which path, with which flags, and the result.',
  examples: [
    ['opensnoop', 'trace every open, system-wide'],
    ['opensnoop -T -e', 'with wall-clock time, flags and mode'],
    ['opensnoop -x', 'only failed opens'],
    ['opensnoop -p 181 --flag-filter O_CREAT', 'PID 181 only, only opens that may create'],
    ['opensnoop -n nginx -d 10', 'processes whose name contains "nginx", for 10 seconds'],
    ['opensnoop --json | jq .path', 'NDJSON events'],
  ],
  options: {
    'print-uid': { alias: 'U', type: 'boolean', describe: 'add a UID column' },
    'extended-fields': { alias: 'e', type: 'boolean', describe: 'add MODE and FLAGS (symbolic) columns' },
    failed: { alias: 'x', type: 'boolean', describe: 'only failed opens (filtered in the kernel)' },
    'flag-filter': {
      alias: 'F', type: 'string', array: true, arg: 'FLAG',
      describe: 'only opens with any of these flags, e.g. O_WRONLY or O_CREAT (repeatable)',
    },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: PID and COMM of the caller, FD returned (-1 on failure), ERR the errno (0 on success), PATH as passed ' +
    '(relative paths are relative to the caller\'s cwd or dirfd). Paths are shown whole, up to PATH_MAX.',
};

export interface OpensnoopArgs {
  'print-uid'?: boolean;
  'extended-fields'?: boolean;
  failed?: boolean;
  'flag-filter'?: string[];
}

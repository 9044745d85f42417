/** killsnoop's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'killsnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace signals sent by kill(2) and its relatives — who sent which signal to whom, and the result; with -a every generated signal, the kernel\'s too.',
  examples: [
    ['killsnoop', 'kill, tkill, tgkill, rt_(tg)sigqueueinfo and pidfd_send_signal, system-wide'],
    ['killsnoop -x', 'only failed sends'],
    ['killsnoop -s TERM,KILL,RTMIN+3', 'only these signals'],
    ['killsnoop --tpid 1234', 'only signals sent to PID 1234'],
    ['killsnoop -a', 'every generated signal, SIGSEGV and SIGCHLD from the kernel included, with the si_code'],
    ['killsnoop --sentence', 'one sentence per signal'],
  ],
  options: {
    'all-signals': { alias: 'a', type: 'boolean', describe: 'every generated signal (signal:signal_generate), kernel-originated ones too' },
    failed: { alias: 'x', type: 'boolean', describe: 'only failed sends (with -a: signals not delivered)' },
    tpid: { type: 'string', arg: 'PID', describe: 'only signals sent to this PID (or thread)' },
    signal: { alias: 's', type: 'string', arg: 'SIG[,SIG...]', describe: 'only these signals: names or numbers, RT included (TERM,9,RTMIN+3)' },
    sentence: { type: 'boolean', describe: 'one sentence per signal: "killall (157967) sent signal 15 (SIGTERM) to PID 157966 (sleep)"' },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME of the return, sender PID and COMM, SIG, target TPID (a thread for tkill/tgkill; <= 0 for a process ' +
    'group, which TCOMM then names; "?" for a pidfd whose process is unknown) and TCOMM, RESULT (0 or -errno; with -a the delivery result). TCOMM comes from the kernel when a signal was ' +
    'generated, else from /proc while the target still exists ("?" when it does not). -p/-u/-n filter the sender.',
};

export interface KillsnoopArgs {
  'all-signals'?: boolean;
  failed?: boolean;
  tpid?: string;
  signal?: string;
  sentence?: boolean;
}

/** python-exec-hook's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'python-exec-hook',
  version: packageVersion(import.meta.url),
  summary: 'Print the PID of every new Python process, one per line, as soon as it starts — for xargs, or run a command per PID with --exec.',
  examples: [
    ['python-exec-hook', 'PIDs of new Python processes, one per line'],
    ['python-exec-hook | xargs -n1 -P32 -I{} austin -C -p {} --output=austin-{}.txt', 'profile every new Python process with austin'],
    ["python-exec-hook --exec 'austin -C -p {} --output=austin-{}.txt' --parallel 32", 'the same without xargs or a shell'],
    ['python-exec-hook --include-existing --json', 'Python processes running now and new ones, with details'],
    ["python-exec-hook --match '^(python3?|uwsgi)$'", 'also count uwsgi'],
  ],
  options: {
    match: {
      type: 'string', arg: 'REGEX',
      describe: 'regex on the name of the executable actually running (default ^python[0-9.]*$)',
    },
    'include-existing': { type: 'boolean', describe: 'also emit matching processes already running at start' },
    exec: { type: 'string', arg: 'CMD', describe: "run CMD for each PID ({} is replaced by the PID), without a shell; PIDs are then not printed" },
    parallel: { type: 'string', arg: 'N', describe: 'with --exec: at most N commands at once, the rest wait (default 4)' },
  },
  common: ['uid', 'name', 'cgroup', 'duration', 'json', 'verbose', 'buffer-size'],
  notes:
    'A process counts when the executable it runs matches: a #!/usr/bin/python3 script counts (its executable is the ' +
    'interpreter), a pyenv shim counts once it execs Python, not while it is still bash. Each process is printed once, however ' +
    'often it execs (a reused PID is a new process). A queued --exec command whose process has exited is skipped, with a note. stdout carries only PIDs (or JSON with --json); the readiness line and notes go to stderr. ' +
    'With --exec, at Ctrl-C/SIGTERM the running commands get SIGTERM and are waited for (10 s at most). ' +
    '--metrics counts new Python processes in the kernel, which then makes the whole match: --match must be ^NAME, ^NAME$ or ^NAME[0-9.]*$.',
};

export interface PyExecArgs {
  match?: string;
  'include-existing'?: boolean;
  exec?: string;
  parallel?: string;
}

/**
 * Running a real tool the way it runs in a container: inside new PID (and mount) namespaces made
 * with unshare(1), with /proc mounted for that namespace, next to a workload started in the same
 * namespace. The test writes the body of a shell script; the script gets:
 *   $TOOL            the tool's command (as a user runs it)
 *   $D               a private directory for files the script and the test share
 *   start_tool ARGS  start the tool in the background and wait for its "Tracing" line
 *   stop_tool        SIGINT it and wait (the tool may be started and stopped again: stdout, stderr
 *                    and exit codes of every run are returned together)
 *   wait_file F      wait until file F exists and is not empty
 *   held NAME ARGS   a workload ("$W" ARGS, stdout to $D/NAME.out) that writes its PID to
 *                    $D/NAME and waits for $D/go-NAME; wait_held waits for them (a bare `wait` would wait for the tool)
 * Whatever the script prints on stdout is returned as `script` (e.g. a workload's own getpid()).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolBin } from './index.js';

export interface NamespaceRun {
  /** the tool's stdout and stderr (every run's), and its exit code (the first that is not 0, else 0) */
  out: string;
  err: string;
  code: number | null;
  /** the script's own stdout */
  script: string;
  /** the script's stderr (unshare's errors land here) */
  scriptErr: string;
  /** the last PID the namespace handed out (its PIDs are 1..lastPid); NaN when unknown */
  lastPid: number;
  /** the PID namespace the script ran in (pid:[inode]) */
  pidns: string;
  /** the shared directory, removed by cleanup() */
  dir: string;
  cleanup(): void;
}

const PRELUDE = `
set -u
# the namespace's own view, for the test: its PID namespace and the last PID it handed out
trap 'readlink /proc/self/ns/pid >"$D/pidns" 2>/dev/null; cat /proc/sys/kernel/ns_last_pid >"$D/last_pid" 2>/dev/null' EXIT
start_tool() {
  RUN=$((\${RUN:-0} + 1))
  "$TOOL" "$@" >>"$D/out" 2>"$D/err.$RUN" &
  TOOL_PID=$!
  i=0
  until grep -q '^Tracing' "$D/err.$RUN" 2>/dev/null; do
    if ! kill -0 "$TOOL_PID" 2>/dev/null; then echo "tool exited before Tracing" >&2; cat "$D/err.$RUN" >&2; exit 97; fi
    i=$((i + 1)); [ "$i" -gt 600 ] && { echo "tool never said Tracing" >&2; exit 98; }
    sleep 0.05
  done
}
stop_tool() {
  sleep 0.3
  kill -INT "$TOOL_PID"
  wait "$TOOL_PID"
  echo $? >>"$D/code"
  cat "$D/err.$RUN" >>"$D/err"
}
# held NAME ARGS...: a workload ("$W" ARGS..., stdout to $D/NAME.out) that writes its PID to $D/NAME
# and waits for $D/go-NAME
held() {
  sh -c 'n=$1; shift; echo $$ >"$D/$n"; while [ ! -e "$D/go-$n" ]; do sleep 0.02; done; exec "$W" "$@" >"$D/$n.out"' held "$@" &
  HELD="\${HELD:-} $!"
  wait_file "$D/$1"
}
# wait_held: wait for the held workloads (not for the tool)
wait_held() {
  for p in \${HELD:-}; do wait "$p"; done
  HELD=
}
wait_file() {
  i=0
  until [ -s "$1" ]; do i=$((i + 1)); [ "$i" -gt 400 ] && { echo "no $1" >&2; exit 96; }; sleep 0.02; done
}
`;

/**
 * Run `body` in new namespaces: `command` is what runs `sh -c BODY`, by default a PID namespace
 * with its own /proc (`unshare --pid --fork --kill-child --mount-proc`).
 */
export function inNamespaces(tool: string, body: string, opts: { command?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<NamespaceRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-ns-'));
  const [cmd, ...flags] = opts.command ?? ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'];
  const env = { ...process.env, ...opts.env, TOOL: toolBin(tool), D: dir };
  return new Promise((res, rej) => {
    const p = spawn(cmd, [...flags, 'sh', '-c', PRELUDE + body], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let script = '';
    let scriptErr = '';
    p.stdout.on('data', (d) => (script += d));
    p.stderr.on('data', (d) => (scriptErr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 45000);
    p.on('error', rej);
    p.on('close', (rc) => {
      clearTimeout(timer);
      const read = (f: string) => {
        try {
          return readFileSync(join(dir, f), 'utf8');
        } catch {
          return '';
        }
      };
      const codes = read('code').split('\n').filter(Boolean).map(Number);
      const r: NamespaceRun = {
        out: read('out'),
        err: read('err'),
        code: codes.length === 0 ? null : (codes.find((c) => c !== 0) ?? 0),
        script,
        scriptErr,
        lastPid: Number(read('last_pid').trim() || NaN),
        pidns: read('pidns').trim(),
        dir,
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
      // with the default command, the script must really have run in a PID namespace of its own
      if (rc === 0 && !opts.command && (r.pidns === '' || r.pidns === readlinkSync('/proc/self/ns/pid'))) {
        r.cleanup();
        rej(new Error(`the script did not run in a PID namespace of its own (${r.pidns || 'unknown'})`));
        return;
      }
      if (rc !== 0) {
        r.cleanup();
        rej(new Error(`the namespace script failed (exit ${rc}):\n${scriptErr}\ntool stderr:\n${r.err}`));
        return;
      }
      res(r);
    });
  });
}

/** NDJSON lines → objects. */
export const jsonLines = (s: string): Record<string, unknown>[] =>
  s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

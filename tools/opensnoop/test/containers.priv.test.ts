// Privileged: opensnoop run the way it runs in a container — inside its own PID namespace
// (unshare -pf --mount-proc) and its own cgroup namespace (unshare -C -m, cgroup2 mounted inside) —
// with workloads in the same namespaces that print their own getpid().
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged, uniquePath } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('opensnoop inside containers', () => {
  let workload: string;
  const made: string[] = [];
  beforeAll(() => {
    workload = fixture('workload');
  });
  afterAll(() => {
    for (const p of made) rmSync(p, { recursive: true, force: true });
  });
  const file = (tag: string) => {
    const p = uniquePath(tag);
    writeFileSync(p, 'x');
    made.push(p);
    return p;
  };
  /** a workload on the host, held until `go()`, opening `path` n times */
  const hostWorkload = (path: string, n: number) => {
    const p = spawn(workload, ['open', path, String(n)], { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
    const done = new Promise((r) => p.on('close', r));
    return { pid: p.pid!, go: async () => { p.stdin!.end('go\n'); await done; } };
  };

  it('in a PID namespace: PIDs and TIDs as the namespace sees them; tasks outside it are not shown', async () => {
    const path = file('ns-pid');
    const sync = mkdtempSync(join(tmpdir(), 'bpf-recipes-ns-sync-'));
    made.push(sync);
    const host = hostWorkload(path, 5);
    // the host workload opens the same path while the tool runs: the script waits for it
    const hostRun = (async () => {
      while (!existsSync(join(sync, 'ready'))) await new Promise((r) => setTimeout(r, 20));
      await host.go();
      writeFileSync(join(sync, 'host-done'), '1');
    })();
    const r = await inNamespaces('opensnoop', `
      start_tool --json
      touch "$S/ready"; wait_file "$S/host-done"
      sh -c 'echo $$; exec "$W" open "$P" 3'
      stop_tool
    `, { env: { W: workload, P: path, S: sync } });
    await hostRun;
    try {
      const nsPid = Number(r.script.trim());
      expect(nsPid).toBeGreaterThan(1);
      expect(nsPid).toBeLessThanOrEqual(r.lastPid); // a fresh namespace numbers from 1 to its last PID
      expect(r.code).toBe(0);
      const events = jsonLines(r.out).filter((e) => e.path === path);
      // exactly the namespace's 3 opens, none of the host workload's 5
      expect(events).toHaveLength(3);
      for (const e of events) {
        expect(e.pid).toBe(nsPid);
        expect(e.tid).toBe(nsPid);
        expect(e.comm).toBe('workload');
      }
      expect(r.err).not.toMatch(/proc is not/);
      // the tool's own reads are never shown (its PID is compared as the namespace sees it)
      expect(jsonLines(r.out).filter((e) => e.comm === 'opensnoop' || e.comm === 'node')).toHaveLength(0);
    } finally {
      r.cleanup();
    }
  });

  it('in a PID namespace: -p and -t take PIDs as the namespace sees them', async () => {
    const path = file('ns-p');
    const r = await inNamespaces('opensnoop', `
      held w1 open "$P" 4; held w2 open "$P" 2
      start_tool --json -p "$(cat "$D/w1")"
      touch "$D/go-w1" "$D/go-w2"; wait_held
      stop_tool
      held w3 open "$P" 3; held w4 open "$P" 2
      start_tool --json -t "$(cat "$D/w3")"
      touch "$D/go-w3" "$D/go-w4"; wait_held
      stop_tool
      cat "$D/w1" "$D/w2" "$D/w3" "$D/w4"
    `, { env: { W: workload, P: path } });
    try {
      const [w1, w2, w3, w4] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(w1, w2, w3, w4)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      const events = jsonLines(r.out).filter((e) => e.path === path);
      // -p w1: w1's 4 opens and nothing of w2's; -t w3: w3's 3 and nothing of w4's
      expect(events.filter((e) => e.pid === w1)).toHaveLength(4);
      expect(events.filter((e) => e.pid === w3 && e.tid === w3)).toHaveLength(3);
      expect(events).toHaveLength(7);
    } finally {
      r.cleanup();
    }
  });

  it('a task in a PID namespace nested in the tool\'s: shown with the PID the tool\'s namespace gives it (not its own 1)', async () => {
    const path = file('ns-nested');
    const r = await inNamespaces('opensnoop', `
      unshare --pid --fork --kill-child sh -c 'while [ ! -e "$D/go" ]; do sleep 0.02; done; exec "$W" open "$P" 2' &
      U=$!
      until [ -n "$(cat "/proc/$U/task/$U/children")" ]; do sleep 0.02; done
      N=$(cat "/proc/$U/task/$U/children")
      start_tool --json
      touch "$D/go"; wait "$U"
      stop_tool
      echo $N
    `, { env: { W: workload, P: path } });
    try {
      const nested = Number(r.script.trim());
      expect(nested).toBeGreaterThan(1);
      expect(nested).toBeLessThanOrEqual(r.lastPid);
      expect(jsonLines(r.out).filter((e) => e.path === path).map((e) => [e.pid, e.tid])).toEqual([[nested, nested], [nested, nested]]);
    } finally {
      r.cleanup();
    }
  });

  it('in a PID namespace without its own /proc: still the namespace PIDs, and one line saying /proc cannot be trusted for names', async () => {
    const path = file('ns-noproc');
    const r = await inNamespaces('opensnoop', `
      start_tool --json
      sh -c 'echo $$; exec "$W" open "$P" 2'
      stop_tool
    `, { env: { W: workload, P: path }, command: ['unshare', '--pid', '--fork', '--kill-child'] });
    try {
      const nsPid = Number(r.script.trim());
      expect(nsPid).toBeLessThan(1000); // the namespace numbers from 1 (no /proc of its own to read its last PID from)
      expect(jsonLines(r.out).filter((e) => e.path === path).map((e) => e.pid)).toEqual([nsPid, nsPid]);
      expect(r.err.split('\n').filter((l) => /^opensnoop: \/proc is not this PID namespace's/.test(l))).toHaveLength(1);
    } finally {
      r.cleanup();
    }
  });

  it.each([
    ['', ''],
    [' and a PID namespace (as Docker makes both)', '--pid --fork --kill-child --mount-proc'],
  ])('in a cgroup namespace%s (cgroup2 remounted inside, as a container sees it): --cgroup CHILD keeps exactly the tasks in it', async (_, pidns) => {
    const mount = cgroup2Mount();
    expect(mount, 'a cgroup v2 hierarchy is needed').toBeTruthy();
    // the container's cgroup, two levels below the root, as a runtime makes it
    const outer = `${mount}/bpf-recipes-ns-${process.pid}`;
    const box = `${outer}/box`;
    mkdirSync(box, { recursive: true });
    const path = file('ns-cgroup');
    try {
      // enter the container's cgroup, then a new cgroup namespace (rooted there) and mount
      // namespace, where cgroup2 is mounted again on the same path (over a fresh tmpfs, as in a
      // container's own /sys/fs/cgroup): the container's view, in which the box is "/" and its
      // child "/app"
      const r = await inNamespaces('opensnoop', `
        mount -t tmpfs none "$(dirname "$M")" && mkdir -p "$M" && mount -t cgroup2 none "$M" || exit 93
        grep -qx "0::/" /proc/self/cgroup || { echo "not in a cgroup namespace: $(cat /proc/self/cgroup)" >&2; exit 95; }
        mkdir "$M/app"
        start_tool --json --cgroup "$M/app"
        sh -c 'echo $$ >"$M/app/cgroup.procs"; echo $$; exec "$W" open "$P" 3'
        sh -c 'exec "$W" open "$P" 2'
        stop_tool
      `, {
        env: { W: workload, P: path, M: mount },
        command: ['sh', '-c', `echo $$ > ${box}/cgroup.procs && exec unshare --cgroup --mount --propagation private ${pidns} "$@"`, 'enter'],
      });
      try {
        const inside = Number(r.script.trim());
        if (pidns) expect(inside).toBeLessThan(1000); // the namespace's PID (its own numbering, from 1; no /proc of its own to read its last PID from)
        expect(existsSync(`${box}/app`), 'the child was made in the box, seen from inside as /app').toBe(true);
        expect(r.code).toBe(0);
        const events = jsonLines(r.out).filter((e) => e.path === path);
        // the 3 opens of the task in app; none of the 2 of the task in the namespace's root
        expect(events).toHaveLength(3);
        expect(events.every((e) => e.pid === inside)).toBe(true);
      } finally {
        r.cleanup();
      }
    } finally {
      // the namespace's last task may still be leaving its cgroup
      for (const d of [`${box}/app`, box, outer]) {
        for (let i = 0; i < 50 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            await new Promise((res) => setTimeout(res, 50));
          }
        }
      }
    }
  });
});

// Privileged: --metrics-by container on the real kernel. The test makes real cgroup v2 directories
// in the layouts kubelet and the container runtimes make (kubelet's systemd driver with containerd's
// and CRI-O's scopes, kubelet's cgroupfs driver, Docker's and Podman's scopes), under a directory of
// its own on the cgroup2 mount, moves a dd into each (the shell moves itself, then becomes the dd)
// and checks that the series carry exactly that container's id and pod's UID with its dd's count;
// a dd left in the test's own cgroup is a host task, with empty labels. --metrics-top folds the
// rest into "other", through the exporter's config file.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { freePort, run, skipPrivileged, startTool, uniquelyNamed } from '@bpf-recipes/testing';

const prefix = `ct${process.pid % 100000}`;
const ddArgs = (n: number) => ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${n}`, 'status=none'];
const hex = (seed: number) => Array.from({ length: 64 }, (_, i) => '0123456789abcdef'[(seed * 7 + i * 13) % 16]).join('');
const uid = (seed: number) => `${seed}f3c2b9e-1d2a-4c7e-9f00-0123456789a${seed}`;

/** the layouts: the cgroup path under the test's directory, and the labels it must get */
function layouts() {
  const l: { name: string; path: string; containerId: string; podUid: string; writes: number }[] = [];
  const add = (name: string, path: (id: string, pod: string) => string, pod: boolean, writes: number) => {
    const seed = l.length + 1;
    const podUid = pod ? uid(seed) : '';
    l.push({ name, path: path(hex(seed), podUid), containerId: hex(seed), podUid, writes });
  };
  add('kubelet systemd + containerd', (id, p) => `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${p.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`, true, 700);
  add('kubelet systemd + CRI-O', (id, p) => `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${p.replace(/-/g, '_')}.slice/crio-${id}.scope`, true, 600);
  add('kubelet cgroupfs', (id, p) => `kubepods/burstable/pod${p}/${id}`, true, 500);
  add('Docker (systemd)', (id) => `system.slice/docker-${id}.scope`, false, 400);
  add('Podman (systemd)', (id) => `machine.slice/libpod-${id}.scope`, false, 300);
  return l;
}

describe.skipIf(skipPrivileged())('--metrics-by container', () => {
  const mount = cgroup2Mount()!;
  const root = `${mount}/bpf-recipes-ctr-${process.pid}`;
  const made: string[] = [];
  afterAll(() => {
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* already gone */
      }
    }
  });

  /** make each layout's cgroup, run a dd of its count in it and one of 100 writes on the host */
  async function workload(ls: ReturnType<typeof layouts>) {
    for (const l of ls) {
      let d = root;
      for (const part of [''].concat(l.path.split('/'))) {
        d = part ? `${d}/${part}` : d;
        if (!made.includes(d)) {
          mkdirSync(d, { recursive: true });
          made.push(d);
        }
      }
      const dd = uniquelyNamed('/bin/dd', prefix);
      const p = spawn('sh', ['-c', `echo $$ > ${d}/cgroup.procs && exec "$0" "$@"`, dd, ...ddArgs(l.writes)], { stdio: 'ignore' });
      expect(await new Promise((r) => p.on('close', r)), l.name).toBe(0);
    }
    expect((await run(uniquelyNamed('/bin/dd', prefix), ddArgs(100))).code).toBe(0);
  }

  it('syscount: each layout labelled with its container_id and pod_uid and its exact count; a host task with empty labels', async () => {
    expect(mount, 'a cgroup v2 hierarchy is needed').toBeTruthy();
    const ls = layouts();
    const port = await freePort();
    const tool = await startTool('syscount', ['-n', prefix, '--syscall', 'write', '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'container', '--metrics-top', '10']);
    try {
      await workload(ls);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('bpf_recipes_syscalls_total{'));
      expect(series.sort()).toEqual([
        ...ls.map((l) => `bpf_recipes_syscalls_total{syscall="write",container_id="${l.containerId}",pod_uid="${l.podUid}"} ${l.writes}`),
        'bpf_recipes_syscalls_total{syscall="write",container_id="",pod_uid=""} 100',
      ].sort());
    } finally {
      await tool.stop();
    }
  });

  it('the exporter: "metricsBy": "container", "metricsTop": 2 keeps the two busiest, the rest "other"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-ctr-exp-'));
    const ls = layouts().map((l) => ({ ...l, path: `again/${l.path}` }));
    const port = await freePort();
    const cfg = join(dir, 'exporter.json');
    writeFileSync(cfg, JSON.stringify({ listen: `127.0.0.1:${port}`, tools: { syscount: { name: prefix, syscall: 'write', metricsBy: 'container', metricsTop: 2 } } }));
    const exp = await startTool('bpf-recipes', ['exporter', '--config', cfg]);
    try {
      await workload(ls);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text.split('\n').filter((l) => l.startsWith('bpf_recipes_syscalls_total{')).sort()).toEqual([
        `bpf_recipes_syscalls_total{syscall="write",container_id="${ls[0].containerId}",pod_uid="${ls[0].podUid}"} 700`,
        `bpf_recipes_syscalls_total{syscall="write",container_id="${ls[1].containerId}",pod_uid="${ls[1].podUid}"} 600`,
        `bpf_recipes_syscalls_total{syscall="write",container_id="other",pod_uid="other"} ${500 + 400 + 300 + 100}`,
      ].sort());
    } finally {
      await exp.stop();
      rmSync(dir, { recursive: true });
    }
  });
});

import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByFolder, CgroupPaths, containerOf } from '../src/index.js';

const commKey = (comm: string) => {
  const k = Buffer.alloc(24);
  k.write(comm, 8);
  return k;
};

describe('--metrics-by: ByFolder', () => {
  it('keeps the top N by their first value, sums the rest into "other" per label set, loses no count', () => {
    const f = new ByFolder({ by: 'comm', top: 2 });
    const rows = [
      { by: 'a', labels: { syscall: 'write' }, values: [7, 1] },
      { by: 'b', labels: { syscall: 'write' }, values: [5, 0] },
      { by: 'c', labels: { syscall: 'write' }, values: [3, 2] },
      { by: 'd', labels: { syscall: 'write' }, values: [2, 1] },
      { by: 'd', labels: { syscall: 'read' }, values: [4, 0] }, // d: 6 in all, above b
    ];
    const out = f.fold(rows);
    const get = (comm: string, syscall: string) => out.find((r) => r.labels.comm === comm && r.labels.syscall === syscall)?.values;
    expect(get('a', 'write')).toEqual([7, 1]);
    expect(get('d', 'write')).toEqual([2, 1]);
    expect(get('d', 'read')).toEqual([4, 0]);
    expect(get('other', 'write')).toEqual([8, 2]); // b and c
    expect(out.some((r) => r.labels.comm === 'b' || r.labels.comm === 'c')).toBe(false);
    expect(out.reduce((s, r) => s + r.values[0], 0)).toBe(21);
  });

  it('writes no "other" when nothing is folded, and reads a comm up to its NUL', () => {
    const f = new ByFolder({ by: 'comm', top: 5 });
    expect(f.label(commKey('dd'), 8)).toBe('dd');
    expect(f.label(commKey('exactly16bytes!!'), 8)).toBe('exactly16bytes!!');
    expect(f.fold([{ by: 'x', labels: {}, values: [1] }])).toEqual([{ by: 'x', labels: { comm: 'x' }, values: [1] }]);
  });

  it('names a cgroup id by its path under the mount (one walk per scrape), an unknown one by its id', () => {
    const mount = mkdtempSync(join(tmpdir(), 'cg-'));
    try {
      mkdirSync(join(mount, 'a', 'b'), { recursive: true });
      const paths = new CgroupPaths(mount);
      paths.next();
      expect(paths.path(statSync(join(mount, 'a', 'b'), { bigint: true }).ino)).toBe('/a/b');
      expect(paths.path(statSync(mount, { bigint: true }).ino)).toBe('/');
      mkdirSync(join(mount, 'c'));
      const c = statSync(join(mount, 'c'), { bigint: true }).ino;
      expect(paths.path(c)).toBe(`id:${c}`); // this scrape walked already
      paths.next();
      expect(paths.path(c)).toBe('/c');
    } finally {
      rmSync(mount, { recursive: true });
    }
  });
});

describe('--metrics-by container: containerOf() and the folding', () => {
  const id = 'a'.repeat(56) + '0123abcd';
  const uid = '5f3c2b9e-1d2a-4c7e-9f00-0123456789ab';
  it('each layout: kubelet systemd and cgroupfs, containerd, CRI-O, Docker, Podman; conmon and host tasks empty', () => {
    const u_ = uid.replace(/-/g, '_');
    const cases: [string, string, string][] = [
      [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u_}.slice/cri-containerd-${id}.scope`, id, uid],
      [`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u_}.slice/crio-${id}.scope`, id, uid],
      [`/kubepods.slice/kubepods-pod${u_}.slice/cri-containerd-${id}.scope`, id, uid], // Guaranteed QoS
      [`/kubepods/burstable/pod${uid}/${id}`, id, uid],
      [`/kubepods/pod${uid}/${id}`, id, uid],
      [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u_}.slice`, '', uid], // the pod, no container
      [`/system.slice/docker-${id}.scope`, id, ''],
      [`/docker/${id}`, id, ''],
      [`/machine.slice/libpod-${id}.scope`, id, ''],
      [`/machine.slice/libpod-${id}.scope/container`, id, ''], // a container's own sub-cgroup
      [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope`, id, ''], // rootless
      [`/libpod_parent/libpod-${id}`, id, ''],
      [`/machine.slice/libpod-conmon-${id}.scope`, '', ''],
      [`/system.slice/crio-conmon-${id}.scope`, '', ''],
      ['/system.slice/nginx.service', '', ''],
      ['/', '', ''],
      [`/srv/${id}`, '', ''], // 64 hex digits alone are not a container
      ['id:1234', '', ''],
    ];
    for (const [path, containerId, podUid] of cases) expect(containerOf(path), path).toEqual({ containerId, podUid });
  });

  it('folds by container: top N keep container_id and pod_uid, host tasks have empty ones, the rest both "other"', () => {
    const f = new ByFolder({ by: 'container', top: 2 });
    const key = (c: string, p: string) => `${c}\0${p}`;
    const rows = [
      { by: key('c1', 'p1'), labels: { syscall: 'write' }, values: [7] },
      { by: key('', ''), labels: { syscall: 'write' }, values: [5] },
      { by: key('c2', ''), labels: { syscall: 'write' }, values: [3] },
      { by: key('c1', 'p1'), labels: { syscall: 'read' }, values: [1] },
      { by: key('c3', 'p3'), labels: { syscall: 'write' }, values: [2] },
    ];
    expect(f.fold(rows).map((r) => ({ ...r.labels, v: r.values[0] }))).toEqual([
      { syscall: 'write', container_id: 'c1', pod_uid: 'p1', v: 7 },
      { syscall: 'write', container_id: '', pod_uid: '', v: 5 },
      { syscall: 'write', container_id: 'other', pod_uid: 'other', v: 5 },
      { syscall: 'read', container_id: 'c1', pod_uid: 'p1', v: 1 },
    ]);
  });
});
